"""Subprocess helper for the outbox, job and worker tests (a real second process).

Usage: ``python tests/core/worker_child.py MODE DATABASE_URL [REDIS_URL]``

* ``emit-and-die``: emit ``test.crash`` and commit, print the event id, then die
  with ``os._exit(9)`` before any dispatch could happen.
* ``die-in-handler``: dispatch with a handler that kills the process mid-batch.
* ``run-jobs``: print ``ready``, wait for ``go`` on stdin, run ``test.record`` jobs
  until none is due, then print the ids of every job this process started (JSON).
* ``worker``: run a :class:`Worker` (poll interval 60 s, so only a wake-up makes it
  dispatch quickly) with a Redis wake bridge, until SIGTERM; print ``ready`` first.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import Any

import redis
from sqlalchemy import text
from sqlalchemy.orm import Session

from siyu.core.db import make_engine, make_session_factory, transaction
from siyu.core.jobs import JobRunner, TaskRegistry
from siyu.core.outbox import Dispatcher, DomainEvent, HandlerRegistry, emit
from siyu.core.worker import Worker


def _die(_session: Session, _event: DomainEvent) -> None:
    sys.stdout.flush()
    os._exit(9)


def main() -> None:
    mode, url = sys.argv[1], sys.argv[2]
    factory = make_session_factory(make_engine(url))

    if mode == "emit-and-die":
        with transaction(factory) as session:
            event_id = emit(session, "test.crash", {"order_id": 7})
        print(event_id, flush=True)
        os._exit(9)

    if mode == "die-in-handler":
        registry = HandlerRegistry()
        registry.register("test.crash", "test.die", _die)
        Dispatcher(factory, registry).dispatch_batch()
        raise SystemExit("the handler should have killed the process")

    if mode == "run-jobs":
        started: list[int] = []
        tasks = TaskRegistry()

        def record(session: Session, payload: dict[str, Any]) -> None:
            started.append(payload["n"])
            session.execute(
                text("INSERT INTO test_job_run (job_n, runner) VALUES (:n, :runner)"),
                {"n": payload["n"], "runner": f"process-{os.getpid()}"},
            )

        tasks.register("test.record", record)
        runner = JobRunner(factory, tasks, worker_id=f"process-{os.getpid()}")
        print("ready", flush=True)
        if sys.stdin.readline().strip() != "go":
            raise SystemExit("expected go")
        while runner.run_due(5):
            pass
        print(json.dumps(started), flush=True)
        return

    if mode == "worker":
        # Wired like `siyu worker`: the worker owns the bridge over the app's client.
        client = redis.Redis.from_url(sys.argv[3])
        registry = HandlerRegistry()
        registry.register("test.wake", "test.noop", lambda _session, _event: None)
        worker = Worker(factory, outbox_registry=registry, poll_interval=60, redis_client=client)
        assert worker.wake_bridge is not None
        bridge = worker.wake_bridge

        def announce_when_idle() -> None:
            # After the first round the worker sleeps: only a wake-up can make it
            # dispatch what the parent commits next.
            while worker.rounds_completed < 1 or not bridge.wait_until_subscribed(0.01):
                time.sleep(0.01)
            print("ready", flush=True)

        threading.Thread(target=announce_when_idle, daemon=True).start()
        worker.run_forever()
        client.close()
        print("stopped", flush=True)
        return

    raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
