"""The local engine: this process reads a chunk, predicts it, hands it on, then the next."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from acsa.batch.readers import InputSpec, ReadPosition, chunks, new_position, read_texts
from acsa.batch.records import PredictedChunk


def predict_chunk(predictor: Any, texts: Sequence[str], batch_size: int) -> PredictedChunk:
    """One chunk through an :class:`acsa.api.Predictor`: probabilities, then the saved rule.

    Both engines call this on the same chunks (the same reviews in the same
    groups), so their outputs are equal to the bit: a model's float results
    depend slightly on which reviews share a batch.
    """
    probabilities = predictor.predict_proba(texts, batch_size)
    return PredictedChunk(
        list(texts), predictor.decide(probabilities), probabilities, tuple(predictor.aspects)
    )


class LocalEngine:
    """Predicts in this process, one chunk at a time (memory: one chunk).

    Args:
        predictor: the loaded model (:class:`acsa.api.Predictor`).
        batch_size: most reviews per model call within a chunk.
    """

    name = "local"

    def __init__(self, predictor: Any, batch_size: int) -> None:
        self.predictor = predictor
        self.batch_size = batch_size

    def run(
        self, source: InputSpec | Sequence[str], chunk_size: int, skip_chunks: int = 0
    ) -> Iterator[tuple[PredictedChunk, float]]:
        """``(chunk, share of the input read)`` for each chunk after the first ``skip_chunks``.

        ``source`` is an input file (:func:`acsa.batch.readers.open_input`) or the texts.
        """
        if isinstance(source, InputSpec):
            position = new_position(source)
            texts: Iterable[str] = read_texts(source, position)
        else:
            position = ReadPosition(len(source))
            texts = _counted(source, position)
        for chunk_texts in chunks(texts, chunk_size, skip_chunks):
            yield predict_chunk(self.predictor, chunk_texts, self.batch_size), position.fraction


def _counted(texts: Sequence[str], position: ReadPosition) -> Iterator[str]:
    for text in texts:
        position.done += 1
        yield text
