"""Read a user-supplied text file, turning every failure into one-line AcsaError."""

from __future__ import annotations

from pathlib import Path

from acsa.errors import AcsaError


def read_user_text(path: Path, error: type[AcsaError], what: str, expected: str) -> str:
    """The text of ``path`` (UTF-8, a BOM is dropped).

    Args:
        path: the file the user named.
        error: the AcsaError subclass to raise (ConfigError, DataError, ...).
        what: how the messages name the file, e.g. ``"config file"``.
        expected: what a folder in its place should have been, e.g. ``"a YAML config file"``.
    """
    path = Path(path)
    if not path.exists():
        raise error(f"{path}: {what} not found")
    if path.is_dir():
        raise error(f"{path}: is a directory; expected {expected}")
    try:
        # utf-8-sig: files saved by Windows tools often start with a BOM
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not valid UTF-8 (byte {exc.start}); save the file as UTF-8") from None
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror})") from None
