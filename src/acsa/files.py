"""File helpers: atomic writes, JSON, YAML and user-named text files, with one-line errors.

Every text file is read and written as UTF-8 (reading drops a BOM), whatever
the platform's default encoding, since Windows' legacy code pages corrupt
Vietnamese text.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from acsa.errors import AcsaError, ArgumentError, ConfigError


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Write through a temporary file in the target folder, then rename over ``path``.

    A crash mid-write then leaves the previous file intact instead of a
    truncated one; ``os.replace`` is atomic on POSIX and Windows alike. The
    file's mode follows the umask, as any newly created file's does.

    Args:
        path: the file to (re)place.
        write: writes the content into the temporary path it is given.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        # mkstemp makes the file 0600; the result gets the mode any new file gets (the umask)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    """The process's umask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def json_default(obj: Any) -> Any:
    """``json.dumps`` fallback for numpy scalars and arrays and paths."""
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"value of type {type(obj).__name__} is not JSON-serializable")


def write_json(path: str | Path, payload: Any, *, allow_nan: bool = True) -> Path:
    """Write ``payload`` as indented UTF-8 JSON, atomically and synced to disk; returns the path.

    Args:
        allow_nan: ``False`` raises on NaN/infinity, which strict JSON parsers reject.
    """
    text = json.dumps(
        payload, indent=2, ensure_ascii=False, allow_nan=allow_nan, default=json_default
    )

    def write(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8", newline="\n") as fh:
            fh.write(text + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    return atomic_write(path, write)


def read_user_text(path: str | Path, error: type[AcsaError], what: str, expected: str) -> str:
    """The text of a file the user named (UTF-8, a BOM is dropped), or a one-line ``error``.

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


def read_yaml(
    path: str | Path,
    *,
    what: str = "config file",
    expected: str = "a YAML file",
    error: type[AcsaError] = ConfigError,
) -> Any:
    """The parsed content of a YAML file the user named (``None`` for an empty file).

    Raises ``error`` with one line naming the file, and the line and column
    of a syntax error.
    """
    import yaml

    path = Path(path)
    text = read_user_text(path, error, what, expected)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise error(f"{path}:{where}: {problem}; fix the YAML syntax") from None


def read_json_mapping(path: Path) -> Mapping[str, Any] | None:
    """A JSON object from ``path``, or ``None`` when the file is missing or not such an object.

    For optional metadata beside a model (a run's ``metrics.json``): a damaged
    file only loses the information, it is not an error.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def check_writable_dir(folder: str | Path, config_key: str | None = None) -> None:
    """Fail early (one line) when ``folder`` cannot be created or written; leaves nothing.

    The error names the ``output_dir`` argument, or ``config_key`` (``output.dir``)
    where a config holds the folder.

    When ``folder`` does not exist yet, an empty folder is created in its nearest
    existing ancestor and removed at once: ``os.access`` answers yes for root
    whatever the file system, and some refuse new entries to everyone (``/proc``,
    a root-squashed NFS share), which only an attempt shows.
    """
    out = Path(folder)
    probe = out
    while not probe.exists():
        parent = probe.parent
        if parent == probe:
            break
        probe = parent
    where = "{key}" if config_key else "{output_dir}"
    names = {"output_dir": config_key} if config_key else None
    if probe.exists() and not probe.is_dir():
        raise ArgumentError(
            where + ": {probe} is a file, not a folder; choose another {output_dir}",
            python_names=names,
            key=config_key,
            probe=probe,
        )
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ArgumentError(
            where + ": {out} is not writable (no write permission on {probe}); "
            "choose another {output_dir}",
            python_names=names,
            key=config_key,
            out=out,
            probe=probe,
        )
    if probe != out:
        try:
            os.rmdir(tempfile.mkdtemp(prefix=".acsa-write-check-", dir=probe))
        except OSError as exc:
            raise ArgumentError(
                where + ": {out} cannot be created (creating a folder in {probe} fails: "
                "{problem}); choose another {output_dir}",
                python_names=names,
                key=config_key,
                out=out,
                probe=probe,
                problem=exc.strerror or exc,
            ) from None
