"""The progress line of ``acsa predict`` on a terminal: reviews, reviews/s, share done, ETA."""

from __future__ import annotations

import time
from typing import Any


def _duration(seconds: float) -> str:
    seconds = int(max(0.0, seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


class PredictProgress:
    """A rich progress bar on stderr (only when ``enabled``; a pipe or log gets nothing).

    The share done is the share of the input read (bytes, or rows of a
    Parquet file), so the ETA needs no first pass to count the reviews. The
    rate and the ETA count only this run's reviews: a resumed run's skipped
    chunks are not predicted again.
    """

    def __init__(self, enabled: bool, rows_before: int = 0) -> None:
        self.enabled = enabled
        self.rows_before = rows_before
        self.started = time.perf_counter()
        # (time, share read) at the first chunk: the ETA's baseline, so that the quick
        # skip over a resumed run's finished chunks does not count as speed
        self._first: tuple[float, float] | None = None
        self.rows = 0
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> PredictProgress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn

            self._progress = Progress(
                TextColumn("{task.fields[reviews]} reviews"),
                BarColumn(),
                TextColumn("{task.percentage:>5.1f}%"),
                TextColumn("{task.fields[rate]} reviews/s"),
                TextColumn("ETA {task.fields[eta]}"),
                console=Console(stderr=True, highlight=False),
                transient=False,
            )
            self._progress.start()
            self._task = self._progress.add_task(
                "predict", total=1.0, reviews=f"{self.rows_before:,}", rate="-", eta="-"
            )
        return self

    def update(self, rows: int, fraction: float) -> None:
        """``rows`` more reviews written; ``fraction`` of the input read so far."""
        self.rows += rows
        if self._progress is None:
            return
        now = time.perf_counter()
        elapsed = now - self.started
        rate = self.rows / elapsed if elapsed > 0 else 0.0
        eta = None
        if self._first is None:
            self._first = (now, fraction)
        elif fraction > self._first[1]:
            eta = (now - self._first[0]) * (1.0 - fraction) / (fraction - self._first[1])
        self._progress.update(
            self._task,
            completed=fraction,
            reviews=f"{self.rows_before + self.rows:,}",
            rate=f"{rate:,.0f}",
            eta=_duration(eta) if eta is not None else "-",
        )

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started
