"""The command-line spelling of the arguments that the layers below name in their errors.

Below the CLI an error names an argument by its Python keyword
(:class:`acsa.errors.ArgumentError`); this module writes it as the option
that passes it, so the user reads ``--max-seeds``, the Python caller
``max_seeds``. Options are the keyword in kebab case unless listed here.
"""

from __future__ import annotations

# keyword -> option, where the option is not the keyword in kebab case
OPTIONS = {
    "output_dir": "--output",  # compare(), train()'s output.dir, evaluate()
    "docs": "--write-docs",  # compare.rendering.check_docs_block
    "source": "--input",  # PredictOptions.source (a file)
    "as_json": "--json",  # PredictOptions.as_json
}


def option(name: str, value: str = "") -> str:
    """``--name`` for the argument ``name``; ``--no-name`` for a flag asked ``False``;
    ``--name VALUE`` for another value (``{engine:ray}`` -> ``--engine ray``)."""
    flag = OPTIONS.get(name, "--" + name.replace("_", "-"))
    if value == "True" or not value:
        return flag
    if value == "False":
        return "--no-" + flag[2:]
    return f"{flag} {value}"
