"""Where predictions go, chunk by chunk: stdout, or a file that can be resumed.

A file output is written as ``FILE.partial`` beside a progress manifest
(:mod:`acsa.batch.manifest`) and renamed to ``FILE`` when complete. Line
formats (txt, JSON lines, CSV) append each chunk to the partial file; on
``--resume`` it is cut back to the size it had after the last complete chunk.
Parquet writes one part file per chunk into the folder ``FILE.partial/``
(each part atomically); at the end the parts are copied, one row group per
chunk, into the single file ``FILE``.

The rules that keep work from being lost or mixed up:

* an existing ``FILE`` is replaced only with ``--overwrite``;
* an existing ``FILE.partial`` (or manifest) without ``--resume`` is an error
  that says to pass ``--resume`` or remove it;
* ``--resume`` with a manifest of another input, model or option is an error
  naming what differs; ``--resume`` with nothing to resume starts afresh.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any, Protocol

from acsa.batch.manifest import Manifest, manifest_path, partial_path
from acsa.batch.records import (
    UTF8_BOM,
    PredictedChunk,
    arrow_schema,
    arrow_table,
    empty_chunk,
    encode,
)
from acsa.errors import DataArgumentError, DataError, optional_import

_PART = "part-{:06d}.parquet"


class Sink(Protocol):
    """Receives the chunks in input order."""

    skip_chunks: int  # chunks already written by an interrupted run
    rows_before: int  # their reviews
    complete: bool  # nothing left to predict

    def open(self, aspects: tuple[str, ...], keep_types: dict[str, Any] | None = None) -> None: ...

    def write(self, chunk: PredictedChunk) -> None: ...

    def finish(self) -> None: ...

    def close(self) -> None: ...

    def discard_if_empty(self) -> None: ...


class StdoutSink:
    """Line formats to standard output (a CSV without BOM: it goes to a pipe or a terminal)."""

    skip_chunks = 0
    rows_before = 0
    complete = False

    def __init__(self, fmt: str, probabilities: bool, explain: bool = False) -> None:
        if fmt == "parquet":
            raise DataArgumentError("{format:parquet} writes a file: give {output:FILE.parquet}")
        self.fmt = fmt
        self.probabilities = probabilities
        self.explain = explain
        self.aspects: tuple[str, ...] = ()
        self.keep: tuple[str, ...] = ()
        self._first = True

    def open(self, aspects: tuple[str, ...], keep_types: dict[str, Any] | None = None) -> None:
        self.aspects = tuple(aspects)
        self.keep = tuple(keep_types or ())

    def write(self, chunk: PredictedChunk) -> None:
        data = encode(chunk, self.fmt, first=self._first, probabilities=self.probabilities)
        self._first = False
        data = data.removeprefix(UTF8_BOM)
        sys.stdout.flush()
        buffer = getattr(sys.stdout, "buffer", None)
        if buffer is not None:
            buffer.write(data)
            buffer.flush()
        else:
            sys.stdout.write(data.decode("utf-8"))
            sys.stdout.flush()

    def finish(self) -> None:
        if self._first and self.fmt == "csv":
            self.write(
                empty_chunk(self.aspects, self.keep, self.explain)
            )  # the header of an input without reviews

    def close(self) -> None:
        return None

    def discard_if_empty(self) -> None:
        return None


class FileSink:
    """A resumable file output (see the module docstring).

    The constructor only checks (nothing is written, so a later error, say in the
    model folder, leaves nothing behind); :meth:`open` creates the partial output
    or cuts it back to its last complete chunk.

    Args:
        output: the final file.
        fmt: ``txt``, ``jsonl``, ``csv`` or ``parquet``.
        setup: what identifies the run (checked against the manifest on resume).
        resume: continue an interrupted run.
        overwrite: replace an existing ``output``.
        probabilities: JSON lines carry every class probability.
    """

    def __init__(
        self,
        output: Path,
        fmt: str,
        setup: dict[str, Any],
        *,
        resume: bool = False,
        overwrite: bool = False,
        probabilities: bool = False,
    ) -> None:
        self.output = output
        self.fmt = fmt
        self.aspects: tuple[str, ...] = ()  # the model's: the header of an output without rows
        self.keep_types: dict[str, Any] = {}  # the kept input columns and their Arrow types
        self.probabilities = probabilities
        self.explain = "explain_top_k" in setup  # the evidence column (--explain)
        self.partial = partial_path(output)
        self.manifest_file = manifest_path(output)
        self.complete = False
        self._fh: Any = None
        if fmt == "parquet":
            optional_import("pyarrow.parquet", "parquet", "writing Parquet files")
        if not output.parent.is_dir():
            raise DataError(f"{output}: the folder {output.parent} does not exist")
        if output.is_dir():
            raise DataArgumentError(
                "{path}: is a folder; give a file name for {output}", path=output
            )
        started = self.partial.exists() or self.manifest_file.exists()
        if started and not resume:
            raise DataArgumentError(
                "{partial}: an interrupted run's partial output is there; pass {resume:True} "
                "to continue it, or remove {partial_name} and {manifest}",
                partial=self.partial,
                partial_name=self.partial.name,
                manifest=self.manifest_file.name,
            )
        self._resuming = resume and started
        if self._resuming:
            self.manifest = self._check_resume(setup, overwrite)
        else:
            if output.exists() and not overwrite:
                raise DataArgumentError(
                    "{path}: exists; pass {overwrite:True} to replace it", path=output
                )
            self.manifest = Manifest(setup)
        self.skip_chunks = self.manifest.chunks_done
        self.rows_before = self.manifest.rows_done

    # ------------------------------------------------------------ opening

    def open(self, aspects: tuple[str, ...], keep_types: dict[str, Any] | None = None) -> None:
        """Create the partial output, or cut the interrupted one back to its last chunk."""
        self.aspects = tuple(aspects)
        self.keep_types = dict(keep_types or {})
        if self.complete:
            return
        if self._resuming:
            if self.fmt == "parquet":
                self._trim_parts(self.manifest.chunks_done)
            else:
                self._fh = self._truncate(self.manifest)
            return
        if self.fmt == "parquet":
            self.partial.mkdir()
        else:
            self._fh = self.partial.open("wb")
        self.manifest.save(self.manifest_file)

    def _check_resume(self, setup: dict[str, Any], overwrite: bool) -> Manifest:
        if not self.manifest_file.exists():
            raise DataError(
                f"{self.partial}: no progress file {self.manifest_file.name} beside it, so "
                f"there is no telling what is complete; remove {self.partial.name} to start over"
            )
        manifest = Manifest.load(self.manifest_file)
        manifest.check_setup(setup, self.manifest_file, self.partial)
        if manifest.complete:
            self.complete = True
            return manifest
        if self.output.exists() and not overwrite:
            raise DataArgumentError(
                "{path}: exists and would be replaced when the resumed run ends; "
                "pass {overwrite:True}, or move it away",
                path=self.output,
            )
        if not self.partial.exists():
            raise DataError(
                f"{self.manifest_file}: its partial output {self.partial.name} is missing; "
                f"remove {self.manifest_file.name} to start over"
            )
        return manifest

    def _truncate(self, manifest: Manifest) -> Any:
        if len(manifest.offsets) != manifest.chunks_done:
            raise DataError(f"{self.manifest_file}: damaged (offsets and chunks disagree)")
        keep = manifest.offsets[-1] if manifest.chunks_done else 0
        size = self.partial.stat().st_size
        if size < keep:
            raise DataError(
                f"{self.partial}: {size} bytes, shorter than the {keep} its progress file "
                f"records; remove {self.partial.name} and {self.manifest_file.name} to "
                "start over"
            )
        fh = self.partial.open("r+b")
        fh.truncate(keep)  # drop the chunk that was being written when the run stopped
        fh.seek(keep)
        return fh

    def _trim_parts(self, done: int) -> None:
        for index in range(done):
            if not (self.partial / _PART.format(index)).is_file():
                raise DataError(
                    f"{self.partial}: part {index} is missing; remove {self.partial.name} "
                    f"and {self.manifest_file.name} to start over"
                )
        for path in self.partial.iterdir():
            name = path.name
            if not (name.startswith("part-") and name.endswith(".parquet")):
                path.unlink()  # a part's temporary file from an interrupted write
            elif int(name[5:-8]) >= done:
                path.unlink()

    # ------------------------------------------------------------ writing

    def write(self, chunk: PredictedChunk) -> None:
        manifest = self.manifest
        if self.fmt == "parquet":
            self._write_part(manifest.chunks_done, arrow_table(chunk, self.keep_types))
            manifest.offsets.append(len(chunk))
        else:
            first = manifest.chunks_done == 0
            self._fh.write(encode(chunk, self.fmt, first=first, probabilities=self.probabilities))
            self._fh.flush()
            os.fsync(self._fh.fileno())
            manifest.offsets.append(self._fh.tell())
        manifest.chunks_done += 1
        manifest.rows_done += len(chunk)
        manifest.save(self.manifest_file)

    def _write_part(self, index: int, table: Any) -> None:
        import pyarrow.parquet as pq

        final = self.partial / _PART.format(index)
        tmp = final.with_name(final.name + ".tmp")
        pq.write_table(table, tmp)
        os.replace(tmp, final)

    def finish(self) -> None:
        """Mark the run complete, put the output in place and remove the manifest."""
        if not self.complete:
            if self.manifest.chunks_done == 0:
                self._write_empty()
            self.manifest.complete = True
            self.manifest.save(self.manifest_file)
        self.close()
        if self.partial.exists():
            if self.fmt == "parquet":
                self._merge_parts()
                shutil.rmtree(self.partial)
            else:
                os.replace(self.partial, self.output)
        self.manifest_file.unlink(missing_ok=True)
        self.complete = True

    def _write_empty(self) -> None:
        empty = empty_chunk(self.aspects, tuple(self.keep_types), self.explain)
        if self.fmt == "parquet":
            self._write_part(0, arrow_table(empty, self.keep_types))
        elif self.fmt == "csv":
            self._fh.write(encode(empty, "csv", first=True, probabilities=False))
            self._fh.flush()

    def _merge_parts(self) -> None:
        """The parts, in order, as the row groups of one Parquet file (one part in memory)."""
        import pyarrow.parquet as pq

        from acsa.files import atomic_write

        parts = sorted(self.partial.glob("part-*.parquet"))

        def write(tmp: Path) -> None:
            schema = arrow_schema(self.aspects, self.keep_types, self.explain)
            with pq.ParquetWriter(tmp, schema) as writer:
                for part in parts:
                    writer.write_table(pq.read_table(part))

        atomic_write(self.output, write)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def discard_if_empty(self) -> None:
        """After a failure: remove what this run created if no chunk got written.

        A run that stops before its first chunk (Ray unreachable, a bad first
        line) leaves nothing to resume, so nothing should ask for ``--resume``.
        """
        self.close()
        if self._resuming or self.complete or self.manifest.chunks_done:
            return
        if self.partial.is_dir():
            shutil.rmtree(self.partial, ignore_errors=True)
        else:
            self.partial.unlink(missing_ok=True)
        self.manifest_file.unlink(missing_ok=True)
