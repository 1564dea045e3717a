"""Allow ``python -m acsa`` (and ``torchrun -m acsa``)."""

from acsa.cli import main

if __name__ == "__main__":
    main()
