"""The local engine: this process reads a chunk, predicts it, hands it on, then the next."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from acsa.batch.readers import InputSpec, ReadPosition, Row, chunks, new_position, read_rows
from acsa.batch.records import PredictedChunk


def predict_chunk(
    predictor: Any,
    rows: Sequence[Row],
    batch_size: int,
    keep: tuple[str, ...] = (),
    explain_top_k: int | None = None,
) -> PredictedChunk:
    """One chunk of ``(text, kept values)`` rows through an :class:`acsa.api.Predictor`:
    probabilities, then the saved rule (blank texts: no aspect); with ``explain_top_k``
    also each mentioned aspect's ``explain_top_k`` strongest tokens
    (:meth:`acsa.api.Predictor.explain`).

    Both engines call this on the same chunks (the same reviews in the same
    groups), so their outputs are equal to the bit: a model's float results
    depend slightly on which reviews share a batch.
    """
    texts = [text for text, _ in rows]
    kept = [values for _, values in rows] if keep else []
    aspects = tuple(predictor.aspects)
    if explain_top_k is None:
        labels, probabilities = predictor.predict_labels(texts, batch_size)
        return PredictedChunk(texts, labels, probabilities, aspects, tuple(keep), kept)
    explained = predictor.explain(texts, batch_size)
    shape = (0, len(aspects))
    labels = np.stack([e.prediction.labels for e in explained]) if texts else np.zeros(shape)
    probabilities = (
        np.stack([e.prediction.probabilities for e in explained])
        if texts
        else np.zeros((*shape, 4))
    )
    evidence = [{a: v.to_dict(explain_top_k) for a, v in e.evidence.items()} for e in explained]
    return PredictedChunk(
        texts, labels, probabilities, aspects, tuple(keep), kept, explanations=evidence
    )


class LocalEngine:
    """Predicts in this process, one chunk at a time (memory: one chunk).

    Args:
        predictor: the loaded model (:class:`acsa.api.Predictor`).
        batch_size: most reviews per model call within a chunk.
    """

    name = "local"

    def __init__(self, predictor: Any, batch_size: int, explain_top_k: int | None = None) -> None:
        self.predictor = predictor
        self.batch_size = batch_size
        self.explain_top_k = explain_top_k

    def run(
        self, source: InputSpec | Sequence[str], chunk_size: int, skip_chunks: int = 0
    ) -> Iterator[tuple[PredictedChunk, float]]:
        """``(chunk, share of the input read)`` for each chunk after the first ``skip_chunks``.

        ``source`` is an input file (:func:`acsa.batch.readers.open_input`) or the texts.
        """
        keep: tuple[str, ...] = ()
        if isinstance(source, InputSpec):
            position = new_position(source)
            rows: Iterable[Row] = read_rows(source, position)
            keep = source.keep
        else:
            position = ReadPosition(len(source))
            rows = _counted(source, position)
        for chunk_rows in chunks(rows, chunk_size, skip_chunks):
            chunk = predict_chunk(
                self.predictor, chunk_rows, self.batch_size, keep, self.explain_top_k
            )
            yield chunk, position.fraction


def _counted(texts: Sequence[str], position: ReadPosition) -> Iterator[Row]:
    for text in texts:
        position.done += 1
        yield text, ()
