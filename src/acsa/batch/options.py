"""``PredictOptions``: everything a batch prediction run needs, checked once and typed.

``acsa predict`` builds one from its options (where a wrong combination is a
one-line error naming the flag); :func:`acsa.batch.predict_stream` and the
layers below take it as it is and check nothing that the types already say.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Engine = Literal["local", "ray"]
Runtime = Literal["auto", "torch", "onnx"]

DEFAULT_CHUNK_SIZE = 10_000
DEFAULT_BATCH_SIZE = 256


@dataclass(frozen=True)
class PredictOptions:
    """One batch prediction run.

    Attributes:
        source: an input file (``.csv``, ``.jsonl``, ``.parquet``, ``.txt``) or the
            reviews themselves.
        output: the file to write; ``None`` writes to stdout (not Parquet).
        format: ``txt``, ``jsonl``, ``csv`` or ``parquet``; default ``jsonl`` with
            ``as_json``, else the output's suffix, else ``txt``.
        input_format: the input's format when its suffix does not say.
        text_column: the CSV or Parquet column holding the reviews; default the
            model's own text column, then ``data``, ``text`` or ``review``.
        keep_columns: input columns copied into the output (CSV, JSON lines,
            Parquet), or ``("all",)`` for every column but the text.
        as_json: JSON lines.
        probabilities: JSON lines also carry every aspect's four probabilities.
        chunk_size: reviews per chunk (the unit of memory, of resume, of a Ray task).
        batch_size: most reviews per model call within a chunk.
        resume: continue the interrupted run that wrote ``output``.
        overwrite: replace an existing ``output``.
        engine: ``local`` (this process) or ``ray``.
        address: the Ray cluster to join; default a local Ray.
        num_actors: Ray actors, each with one copy of the model (default: the
            cluster's CPUs).
        runtime: ``onnx`` runs the model folder's ``model.onnx``, ``torch`` its own
            weights; ``auto`` or ``None``: ONNX Runtime when ``acsa train`` exported
            and checked it (:func:`acsa.models.backend.choose_runtime`).
        threads: threads of the model (torch or ONNX Runtime, local), CPUs and threads
            of each Ray actor (default: torch's own locally, 1 per actor). The float results
            depend slightly on it: the same count gives the same bytes on both engines.
        progress: show a progress bar on stderr.
        explain: also write each mentioned aspect's evidence (:mod:`acsa.explain`;
            local engine, the model's own weights).
        top_k: with ``explain``, the strongest tokens kept per aspect.
    """

    source: Path | tuple[str, ...]
    output: Path | None = None
    format: str | None = None
    input_format: str | None = None
    text_column: str | None = None
    keep_columns: tuple[str, ...] = ()
    as_json: bool = False
    probabilities: bool = False
    chunk_size: int = DEFAULT_CHUNK_SIZE
    batch_size: int = DEFAULT_BATCH_SIZE
    resume: bool = False
    overwrite: bool = False
    engine: Engine = "local"
    address: str | None = None
    num_actors: int | None = None
    runtime: Runtime | None = None
    threads: int | None = None
    progress: bool = False
    explain: bool = False
    top_k: int = 5

    def __post_init__(self) -> None:
        if isinstance(self.source, str):
            object.__setattr__(self, "source", Path(self.source))
        elif isinstance(self.source, list):
            object.__setattr__(self, "source", tuple(self.source))
        if isinstance(self.output, str):
            object.__setattr__(self, "output", Path(self.output))
        if isinstance(self.keep_columns, str):
            object.__setattr__(self, "keep_columns", (self.keep_columns,))
        if self.chunk_size < 1 or self.batch_size < 1:
            raise ValueError("chunk_size and batch_size must be positive")
        if self.engine not in ("local", "ray"):
            raise ValueError(f"engine must be 'local' or 'ray', got {self.engine!r}")

    @property
    def input_path(self) -> Path | None:
        """The input file, or ``None`` when the reviews were given."""
        return self.source if isinstance(self.source, Path) else None
