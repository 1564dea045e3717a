"""Micro-batching: texts of concurrent requests are gathered into one model call.

A request's texts are queued (in pieces of at most ``max_batch``); one loop
takes queued pieces into a batch until it holds ``max_batch`` texts or the
first piece has waited ``max_wait_ms``, runs the model once on the whole
batch in a worker thread (the event loop keeps accepting requests meanwhile)
and hands each request its own results. When a batch fails, each request in
it is retried alone, so a model error reaches only the requests that cause
it. :meth:`MicroBatcher.close` lets queued work finish first.

Example:
    >>> import asyncio
    >>> calls = []
    >>> def run(texts):
    ...     calls.append(len(texts))
    ...     return [t.upper() for t in texts]
    >>> async def main():
    ...     batcher = MicroBatcher(run, max_batch=8, max_wait_ms=50)
    ...     batcher.start()
    ...     answers = await asyncio.gather(*(batcher.submit([f"r{i}"]) for i in range(3)))
    ...     await batcher.close()
    ...     return answers
    >>> asyncio.run(main()), calls
    ([['R0'], ['R1'], ['R2']], [3])
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

# texts -> one result per text, in order (runs in the worker thread)
BatchFunction = Callable[[list[str]], Sequence[Any]]


class BatcherClosedError(RuntimeError):
    """The batcher is shutting down and takes no new work."""


@dataclass
class _Piece:
    texts: list[str]
    future: asyncio.Future[list[Any]]
    queued_at: float = field(default_factory=time.perf_counter)


class MicroBatcher:
    """Gather texts from concurrent callers into batches for ``run_batch``.

    Args:
        run_batch: the model call; gets at most ``max_batch`` texts and
            returns one result per text, in order.
        max_batch: most texts per call.
        max_wait_ms: longest wait for more texts once one is queued.
        on_batch: called after each call with ``(texts, seconds)`` (metrics).
    """

    def __init__(
        self,
        run_batch: BatchFunction,
        max_batch: int = 64,
        max_wait_ms: float = 5.0,
        on_batch: Callable[[int, float], None] | None = None,
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch}")
        if max_wait_ms < 0:
            raise ValueError(f"max_wait_ms must be >= 0, got {max_wait_ms}")
        self.run_batch = run_batch
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000.0
        self.on_batch = on_batch
        self._pending: deque[_Piece] = deque()
        self._queued_texts = 0
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        # one thread: model calls run one at a time; the model parallelizes inside
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="acsa-model")

    @property
    def running(self) -> bool:
        """The batching loop is alive and accepts work."""
        return self._task is not None and not self._task.done() and not self._closing

    def start(self) -> None:
        """Start the batching loop on the running event loop."""
        if self._task is not None:
            raise RuntimeError("the batcher is already started")
        self._wakeup = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="acsa-batcher")

    async def submit(self, texts: Sequence[str]) -> list[Any]:
        """Results for ``texts`` (one per text, in order), computed in shared batches."""
        if self._closing or self._task is None or self._wakeup is None:
            raise BatcherClosedError("the server is shutting down")
        texts = list(texts)
        if not texts:
            return []
        loop = asyncio.get_running_loop()
        pieces = [
            _Piece(texts[i : i + self.max_batch], loop.create_future())
            for i in range(0, len(texts), self.max_batch)
        ]
        for piece in pieces:
            self._pending.append(piece)
            self._queued_texts += len(piece.texts)
        self._wakeup.set()
        results: list[Any] = []
        for part in await asyncio.gather(*(p.future for p in pieces)):
            results.extend(part)
        return results

    async def close(self) -> None:
        """Finish every queued piece, then stop the loop and the worker thread."""
        self._closing = True
        if self._wakeup is not None:
            self._wakeup.set()
        if self._task is not None:
            await self._task
        self._executor.shutdown(wait=True)

    async def _loop(self) -> None:
        assert self._wakeup is not None
        try:
            while True:
                if not self._pending:
                    if self._closing:
                        return
                    self._wakeup.clear()
                    await self._wakeup.wait()
                    continue
                await self._fill(self._pending[0].queued_at + self.max_wait)
                await self._run(self._take())
        except BaseException:
            # never leave a caller waiting on a loop that is gone
            self._closing = True
            while self._pending:
                piece = self._pending.popleft()
                if not piece.future.done():
                    piece.future.set_exception(BatcherClosedError("the batcher stopped"))
            raise

    async def _fill(self, deadline: float) -> None:
        """Wait until a full batch is queued, the deadline passes or shutdown starts."""
        assert self._wakeup is not None
        while self._queued_texts < self.max_batch and not self._closing:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                return
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), remaining)
            except asyncio.TimeoutError:
                return

    def _take(self) -> list[_Piece]:
        """Queued pieces, in arrival order, up to ``max_batch`` texts (always at least one)."""
        batch: list[_Piece] = []
        size = 0
        while self._pending and size + len(self._pending[0].texts) <= self.max_batch:
            piece = self._pending.popleft()
            size += len(piece.texts)
            self._queued_texts -= len(piece.texts)
            batch.append(piece)
        return batch

    async def _call(self, texts: list[str]) -> list[Any]:
        """One model call in the worker thread, with the batch callback."""
        started = time.perf_counter()
        try:
            results = await asyncio.get_running_loop().run_in_executor(
                self._executor, self.run_batch, texts
            )
        finally:
            if self.on_batch is not None:
                try:
                    self.on_batch(len(texts), time.perf_counter() - started)
                except Exception:  # noqa: BLE001 - metrics must not fail a batch
                    logger.exception("batch callback failed")
        if len(results) != len(texts):
            raise RuntimeError(f"the model returned {len(results)} results for {len(texts)} texts")
        return list(results)

    async def _run(self, batch: list[_Piece]) -> None:
        live = [p for p in batch if not p.future.done()]  # a cancelled caller needs no answer
        if not live:
            return
        texts = [t for p in live for t in p.texts]
        try:
            results = await self._call(texts)
        except Exception:  # noqa: BLE001 - isolated below
            if len(live) == 1:
                logger.exception("model call failed on a request of %d texts", len(texts))
                if not live[0].future.done():
                    live[0].future.set_exception(_model_failure())
                return
            # one request's texts may be what breaks the model: run each piece alone, so
            # only the requests that fail on their own get an error
            logger.warning("model call failed on a batch of %d requests; retrying each", len(live))
            for piece in live:
                await self._run([piece])
            return
        start = 0
        for piece in live:
            end = start + len(piece.texts)
            if not piece.future.done():
                piece.future.set_result(results[start:end])
            start = end


class ModelCallError(RuntimeError):
    """The model failed on a request's texts (the cause is logged, not sent to the client)."""


def _model_failure() -> ModelCallError:
    return ModelCallError("the model failed on this request's texts")
