"""The resume manifest: what an interrupted ``acsa predict`` writing a file had finished.

While it runs, the output is ``FILE.partial`` (a folder of one part per chunk
for Parquet) and ``FILE.progress.json`` says which run it belongs to (the
input file's path, size and a hash of its first and last MiB; the model
folder and a hash of its files; the chunk size, format, text column and
options that change the bytes) and how far it got (chunks and rows done, the
partial file's size after each complete chunk). Each chunk is written and
synced to disk before the manifest is updated (atomically), so the manifest
never claims more than is on disk. When the last chunk is done, the manifest
says so, ``FILE.partial`` is renamed to ``FILE`` and the manifest removed:
a half-written output never has the final name.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from acsa.errors import DataArgumentError, DataError
from acsa.files import write_json

FORMAT = "acsa-predict-progress"
FORMAT_VERSION = 1
_EDGE_BYTES = 1 << 20  # the input's first and last MiB identify it
# setup key -> how an error names it ({name}: the argument, as the caller wrote it)
SETUP_LABELS: dict[str, str] = {
    "input": "input file",
    "input_size": "input size (bytes)",
    "input_sha256": "input content (first and last MiB)",
    "model": "model folder",
    "model_sha256": "model files",
    "chunk_size": "chunk size ({chunk_size})",
    "format": "output format",
    "text_column": "text column ({text_column})",
    "probabilities": "{probabilities}",
    "keep_columns": "kept columns ({keep_columns})",
    "explain_top_k": "{explain} {top_k}",
    "runtime": "runtime ({runtime})",
}
# settings recorded since a later version: a progress file written before has none to compare
_RECORDED_LATER = frozenset({"runtime"})


def partial_path(output: Path) -> Path:
    """Where ``output`` is written until it is complete."""
    return output.with_name(output.name + ".partial")


def manifest_path(output: Path) -> Path:
    """The progress manifest beside ``output``."""
    return output.with_name(output.name + ".progress.json")


def input_digest(path: Path) -> tuple[int, str]:
    """``(size, sha256 of the first and last MiB)``: cheap, and changes with any rewrite."""
    size = path.stat().st_size
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        digest.update(fh.read(_EDGE_BYTES))
        if size > _EDGE_BYTES:
            fh.seek(max(_EDGE_BYTES, size - _EDGE_BYTES))
            digest.update(fh.read(_EDGE_BYTES))
    return size, digest.hexdigest()


def model_digest(model_dir: Path) -> str:
    """sha256 over the model folder's files (names and contents)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        digest.update(path.relative_to(model_dir).as_posix().encode("utf-8") + b"\0")
        with path.open("rb") as fh:
            for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


@dataclass
class Manifest:
    """The sidecar of a partial output.

    Attributes:
        setup: what identifies the run (keys of :data:`SETUP_LABELS`).
        chunks_done: complete chunks in the partial output.
        rows_done: reviews in them.
        offsets: the partial file's size after each complete chunk (line formats).
        complete: the last chunk is written; only the rename is left.
    """

    setup: dict[str, Any]
    chunks_done: int = 0
    rows_done: int = 0
    offsets: list[int] = field(default_factory=list)
    complete: bool = False

    def save(self, path: Path) -> None:
        write_json(
            path,
            {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "setup": self.setup,
                "chunks_done": self.chunks_done,
                "rows_done": self.rows_done,
                "offsets": self.offsets,
                "complete": self.complete,
            },
        )

    @classmethod
    def load(cls, path: Path) -> Manifest:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            if raw.get("format") != FORMAT or raw.get("format_version") != FORMAT_VERSION:
                raise ValueError("not an acsa predict progress file of this version")
            manifest = cls(
                setup=dict(raw["setup"]),
                chunks_done=int(raw["chunks_done"]),
                rows_done=int(raw["rows_done"]),
                offsets=[int(x) for x in raw["offsets"]],
                complete=bool(raw["complete"]),
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DataError(
                f"{path}: unreadable progress file ({exc}); remove it and the .partial "
                "output beside it to start over"
            ) from None
        return manifest

    def check_setup(self, setup: dict[str, Any], path: Path, partial: Path) -> None:
        """A one-line error naming the first setting that differs from ``setup``."""
        for key, label in SETUP_LABELS.items():
            if key in _RECORDED_LATER and key not in self.setup:
                continue
            old, new = self.setup.get(key), setup.get(key)
            if old != new:
                raise DataArgumentError(
                    "{path}: cannot resume: the interrupted run had " + label + " {old!r}, "
                    "this one {new!r}; rerun with the same input, model and options, or "
                    "remove {partial} and {manifest} to start over",
                    path=path,
                    old=old,
                    new=new,
                    partial=partial.name,
                    manifest=path.name,
                )
