"""Group commit: one writer thread, one commit per batch of waiting requests.

A commit is the expensive part of a small write (an fsync on PostgreSQL, the
writer lock and a WAL append on SQLite). Under a crowd, requests arrive faster
than one commit each can serve, so the writer takes every request waiting at that
moment (up to ``max_batch``), writes them in one transaction and commits once.
Each caller's future resolves only after that commit: nothing is acknowledged
before it is durable. With one writer per process there is no contention on hot
rows inside the process; the conditional UPDATEs still guard them (other
processes may write too).

How a batch is written — a savepoint per request, or compensation for refusals —
is the domain's ``write_batch``: it gets the requests and returns, in order, each
one's result or the exception to raise to its caller (a refusal, typically a
``SiyuError``); if it raises, every caller of the batch gets that error.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)
Request = TypeVar("Request")
Result = TypeVar("Result")
_STOP = object()


class GroupCommitQueue(Generic[Request, Result]):
    def __init__(
        self,
        write_batch: Callable[[list[Request]], list[Result | BaseException]],
        *,
        name: str,
        max_batch: int = 256,
    ) -> None:
        self._write_batch = write_batch
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._started = False
        self._lock = threading.Lock()
        self.batches = 0  # batches written (tests check that batches formed)

    def start(self) -> None:
        with self._lock:
            if not self._started:
                self._started = True
                self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        if self._started:
            self._queue.put(_STOP)
            self._thread.join(timeout)

    def submit(self, request: Request) -> Future[Result]:
        """Queue ``request``; the future resolves after its batch commits (or raises
        its refusal)."""
        self.start()
        future: Future[Result] = Future()
        self._queue.put((request, future))
        return future

    async def run(self, request: Request) -> Result:
        return await asyncio.wrap_future(self.submit(request))

    def _take_batch(self) -> tuple[list[tuple[Request, Future[Result]]], bool]:
        first = self._queue.get()
        if first is _STOP:
            return [], True
        batch = [first]
        stop = False
        while len(batch) < self._max_batch:
            try:
                entry = self._queue.get_nowait()
            except queue.Empty:
                break
            if entry is _STOP:
                stop = True
                break
            batch.append(entry)
        return batch, stop  # type: ignore[return-value]

    def _run(self) -> None:
        while True:
            batch, stop = self._take_batch()
            if batch:
                self._write(batch)
            if stop:
                return

    def _write(self, batch: list[tuple[Request, Future[Result]]]) -> None:
        try:
            outcomes = self._write_batch([request for request, _future in batch])
        except BaseException as error:
            for _request, future in batch:
                future.set_exception(error)
            return
        self.batches += 1
        for (_request, future), outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
