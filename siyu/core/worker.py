"""The worker loop: outbox dispatch, then due jobs, then sleep until woken or polled.

``siyu serve`` runs one in a background thread (:meth:`Worker.start`); ``siyu worker``
runs one in the foreground (:meth:`Worker.run_forever`). Both install the commit hook
(a commit that emitted events or jobs wakes the worker at once) and, given a Redis
client, a wake bridge so that commits in other processes wake it as well. The loop never dies on an
exception: the database may be briefly unreachable, a handler may be broken; it logs,
backs off and carries on.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import uuid
from types import FrameType
from typing import Any

from redis import Redis
from sqlalchemy.orm import Session, sessionmaker

from siyu.core.jobs import JobRunner, TaskRegistry
from siyu.core.notify import Notifier, RedisWakeBridge, default_notifier, install_commit_hook
from siyu.core.outbox import Dispatcher, HandlerRegistry

logger = logging.getLogger(__name__)

# Dispatch at most this many outbox batches before giving due jobs their turn, so a
# flood of events cannot starve jobs.
MAX_BATCHES_PER_ROUND = 20
# Longest pause after consecutive failures (the database is probably down).
MAX_ERROR_PAUSE_SECONDS = 30.0


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Worker:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        outbox_registry: HandlerRegistry | None = None,
        task_registry: TaskRegistry | None = None,
        worker_id: str | None = None,
        poll_interval: float = 1.0,
        notifier: Notifier | None = None,
        dispatcher: Dispatcher | None = None,
        job_runner: JobRunner | None = None,
        jobs_per_round: int = 20,
        min_round_interval: float = 0.05,
        redis_client: Redis | None = None,
    ) -> None:
        self.worker_id = worker_id or default_worker_id()
        self.poll_interval = poll_interval
        self.notifier = notifier or default_notifier()
        self.dispatcher = dispatcher or Dispatcher(session_factory, outbox_registry)
        self.job_runner = job_runner or JobRunner(
            session_factory, task_registry, worker_id=self.worker_id
        )
        self.jobs_per_round = jobs_per_round
        # Under load a commit wakes the worker every few milliseconds; starting rounds
        # at most this often lets events pile up into real batches (one transaction
        # for hundreds of events instead of a handful). An idle worker still reacts at
        # once, since its last round was long ago. See docs/benchmarks.md.
        self.min_round_interval = min_round_interval
        # With Redis, commits in other processes wake this worker too (and ours them).
        self.wake_bridge = (
            RedisWakeBridge(redis_client, notifier=self.notifier) if redis_client else None
        )
        self._stopping = threading.Event()
        self._wake: threading.Event | None = None
        self._thread: threading.Thread | None = None
        self._consecutive_errors = 0
        # Completed rounds; health checks and tests read it to see the loop is alive.
        self.rounds_completed = 0

    def run_once(self) -> int:
        """One round: drain due outbox events, then run due jobs; return items handled."""
        handled = 0
        failed = False
        try:
            handled += self.dispatcher.dispatch_pending(max_batches=MAX_BATCHES_PER_ROUND)
        except Exception:
            failed = True
            logger.exception("outbox dispatch failed")
        try:
            handled += self.job_runner.run_due(self.jobs_per_round)
        except Exception:
            failed = True
            logger.exception("running due jobs failed")
        self._consecutive_errors = self._consecutive_errors + 1 if failed else 0
        self.rounds_completed += 1
        return handled

    def start(self) -> None:
        """Run the loop in a daemon thread (``siyu serve``)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stopping.clear()
        self._wake = self.notifier.subscribe()
        self._start_wake_sources()
        self._thread = threading.Thread(target=self._loop, name="siyu-worker", daemon=True)
        self._thread.start()

    def _start_wake_sources(self) -> None:
        install_commit_hook()
        if self.wake_bridge is not None:
            self.wake_bridge.start()

    def stop(self, timeout: float = 10.0) -> bool:
        """Finish the current round and stop; True if the thread ended within ``timeout``."""
        self._stopping.set()
        if self._wake is not None:
            self._wake.set()
        stopped = True
        if self._thread is not None:
            self._thread.join(timeout)
            stopped = not self._thread.is_alive()
            if stopped:
                self._thread = None
        if self.wake_bridge is not None:
            self.wake_bridge.stop()
        return stopped

    @property
    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def run_forever(self) -> None:
        """Run the loop in this thread until SIGTERM or SIGINT (``siyu worker``)."""
        self._stopping.clear()
        self._wake = self.notifier.subscribe()
        self._start_wake_sources()
        previous: dict[signal.Signals, Any] = {}
        # Python only lets the main thread install signal handlers.
        if threading.current_thread() is threading.main_thread():
            for stop_signal in (signal.SIGTERM, signal.SIGINT):
                previous[stop_signal] = signal.signal(stop_signal, self._on_signal)
        try:
            self._loop()
        finally:
            for stop_signal, handler in previous.items():
                signal.signal(stop_signal, handler)
            if self.wake_bridge is not None:
                self.wake_bridge.stop()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        logger.info("worker %s stopping on signal %d", self.worker_id, signum)
        self._stopping.set()
        if self._wake is not None:
            self._wake.set()

    def _loop(self) -> None:
        wake = self._wake
        assert wake is not None
        logger.info("worker %s started", self.worker_id)
        last_round = -float("inf")
        try:
            while not self._stopping.is_set():
                since_last = time.monotonic() - last_round
                if since_last < self.min_round_interval:
                    self._stopping.wait(self.min_round_interval - since_last)
                last_round = time.monotonic()
                try:
                    handled = self.run_once()
                except Exception:  # run_once catches its own; this is the last guard
                    logger.exception("worker round failed")
                    handled = 0
                    self._consecutive_errors += 1
                if self._stopping.is_set():
                    break
                if self._consecutive_errors:
                    pause = min(
                        self.poll_interval * 2**self._consecutive_errors, MAX_ERROR_PAUSE_SECONDS
                    )
                    self._stopping.wait(pause)
                    continue
                if handled:
                    # More may be due right away (a full round, or jobs that enqueued jobs).
                    continue
                # Cleared before the next round reads the database, so a commit landing
                # after this point always leaves the flag set for the next wait.
                wake.wait(self.poll_interval)
                wake.clear()
        finally:
            self.notifier.unsubscribe(wake)
            try:
                self.job_runner.release_lease()
            except Exception:
                logger.warning("releasing the job lease failed", exc_info=True)
            logger.info("worker %s stopped", self.worker_id)
