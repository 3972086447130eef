"""Group commit for the database engine: one writer thread, one commit per batch.

A commit is the expensive part of a reservation (an fsync on PostgreSQL, the
writer lock and a WAL append on SQLite). Under a crowd, requests arrive faster than
one commit each can serve, so the writer takes every request waiting at that moment
(up to ``max_batch``), runs each inside its own SAVEPOINT (a refusal — sold out,
over the limit — rolls back only that request), and commits once. Each caller's
future resolves only after that commit: a reservation is never acknowledged
before it is durable. With one writer there is no contention on the hot stock row
at all; the conditional UPDATE still guards it (other processes may write too).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from concurrent.futures import Future
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from siyu.campaigns.flash_sale import driver_sql
from siyu.campaigns.flash_sale.engines import ReserveRequest, reserve_on_cursor
from siyu.campaigns.flash_sale.errors import EngineUnavailable
from siyu.core.errors import SiyuError

logger = logging.getLogger(__name__)
_STOP = object()


class GroupCommitWriter:
    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        max_batch: int = 256,
    ) -> None:
        self._engine = factory.kw["bind"]
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="flash-sale-writer", daemon=True)
        self._started = False
        self._lock = threading.Lock()
        self.batches = 0
        self.committed = 0

    def start(self) -> None:
        with self._lock:
            if not self._started:
                self._started = True
                self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        if self._started:
            self._queue.put(_STOP)
            self._thread.join(timeout)

    def submit(self, request: ReserveRequest) -> Future[None]:
        """Queue ``request``; the future resolves after its batch commits (or raises
        the refusal)."""
        self.start()
        future: Future[None] = Future()
        self._queue.put((request, future))
        return future

    async def reserve(self, request: ReserveRequest) -> None:
        await asyncio.wrap_future(self.submit(request))

    def _take_batch(self) -> tuple[list[tuple[ReserveRequest, Future[None]]], bool]:
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

    @staticmethod
    def _one(
        cursor: Any, sql: driver_sql.Statements, request: ReserveRequest
    ) -> BaseException | None:
        """One request inside its own savepoint: a refusal undoes only its own steps."""
        cursor.execute("SAVEPOINT flash_sale_request")
        try:
            reserve_on_cursor(cursor, sql, request)
        except Exception as error:
            cursor.execute("ROLLBACK TO SAVEPOINT flash_sale_request")
            cursor.execute("RELEASE SAVEPOINT flash_sale_request")
            if isinstance(error, SiyuError):
                return error
            logger.exception("flash sale: reservation %s failed", request.public_id)
            return EngineUnavailable(data={"reason": type(error).__name__})
        cursor.execute("RELEASE SAVEPOINT flash_sale_request")
        return None

    def _write(self, batch: list[tuple[ReserveRequest, Future[None]]]) -> None:
        outcomes: list[BaseException | None] = []
        try:
            with self._engine.begin() as connection:
                sql = driver_sql.statements_for(connection.dialect)
                cursor = connection.connection.cursor()
                for request, _future in batch:
                    outcomes.append(self._one(cursor, sql, request))
                cursor.close()
        except Exception as error:
            logger.exception("flash sale: a reservation batch failed to commit")
            failure = EngineUnavailable(data={"reason": type(error).__name__})
            for _request, future in batch:
                future.set_exception(failure)
            return
        self.batches += 1
        for (_request, future), outcome in zip(batch, outcomes, strict=True):
            if outcome is None:
                self.committed += 1
                future.set_result(None)
            else:
                future.set_exception(outcome)
