"""The scheduled ``warehouse.sync`` chain with its after-sync hooks, and the CLI."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from siyu.cli import app
from siyu.core import jobs
from siyu.core import settings as settings_module
from siyu.core.clock import FrozenClock
from siyu.core.db import make_engine, make_session_factory, transaction
from siyu.core.migrations import upgrade
from siyu.core.settings import Settings, get_settings
from siyu.models.customer import Customer
from siyu.models.job import Job, JobStatus
from siyu.warehouse import hooks, state, tasks
from siyu.warehouse.engine import Warehouse
from siyu.warehouse.export import SyncResult
from tests.warehouse.conftest import T0
from tests.warehouse.factories import make_customer, make_event

Write = Callable[[], AbstractContextManager[Session]]


@pytest.fixture
def installed(db_url: str, tmp_path: Path) -> Iterator[Settings]:
    settings = Settings(
        database_url=db_url,
        data_dir=tmp_path / "data",
        warehouse_dir=tmp_path / "wh",
        warehouse_sync_seconds=60,
        secret_key="s" * 40,
    )
    settings_module.install(settings)
    try:
        yield settings
    finally:
        settings_module.install(None)


def test_next_slot_is_the_next_multiple_of_the_interval() -> None:
    moment = datetime(2026, 11, 20, 8, 0, 30, tzinfo=UTC)
    assert tasks.next_slot(moment, 60) == datetime(2026, 11, 20, 8, 1, tzinfo=UTC)
    assert tasks.next_slot(datetime(2026, 11, 20, 8, 1, tzinfo=UTC), 60) == datetime(
        2026, 11, 20, 8, 2, tzinfo=UTC
    )


def test_the_job_exports_runs_hooks_and_enqueues_the_next_slot(
    committed_engine: Engine,
    write: Write,
    installed: Settings,
    clock_at_t0: FrozenClock,
    no_hooks: None,
) -> None:
    factory = make_session_factory(committed_engine)
    seen: list[tuple[int, list[int]]] = []

    def hook(session: Session, wh: Warehouse, result: SyncResult) -> None:
        seen.append((result.rows["events"], result.touched_customer_ids.to_pylist()))
        make_customer(session, at=T0)  # a write in the job's transaction

    def broken(session: Session, wh: Warehouse, result: SyncResult) -> None:
        make_customer(session, at=T0)
        raise RuntimeError("a hook that fails")

    hooks.register_after_sync(broken)
    hooks.register_after_sync(hook)
    hooks.register_after_sync(hook)  # registering twice runs it once
    with write() as session:
        customer_id = make_customer(session, at=T0).id
        make_event(session, _customer(session, customer_id), occurred_at=T0)
    with transaction(factory) as session:
        first = tasks.schedule(session)
        assert first.run_at == datetime(2026, 11, 20, 8, 1, tzinfo=UTC)
        assert tasks.schedule(session).id == first.id  # one job per slot
    clock_at_t0.advance(seconds=61)
    runner = jobs.JobRunner(factory, worker_id="warehouse-test")
    assert runner.run_due() == 1
    assert seen == [(1, [customer_id])]
    with transaction(factory) as session:
        rows = session.scalars(select(Job).where(Job.task == tasks.TASK).order_by(Job.id)).all()
        assert [(job.status, job.run_at) for job in rows] == [
            (JobStatus.SUCCEEDED, datetime(2026, 11, 20, 8, 1, tzinfo=UTC)),
            (JobStatus.QUEUED, datetime(2026, 11, 20, 8, 2, tzinfo=UTC)),
        ]
        # The good hook's customer committed; the broken hook's was rolled back.
        assert len(session.scalars(select(Customer)).all()) == 2
    assert state.load(installed.warehouse_dir).seq == 1  # type: ignore[arg-type]


def _customer(session: Session, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id)
    assert customer is not None
    return customer


def test_a_failing_export_keeps_the_chain(
    committed_engine: Engine,
    installed: Settings,
    clock_at_t0: FrozenClock,
    no_hooks: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from siyu.warehouse import export

    def fail(step: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(export, "_checkpoint", fail)
    factory = make_session_factory(committed_engine)
    with transaction(factory) as session:
        tasks.schedule(session)
    clock_at_t0.advance(seconds=61)
    assert jobs.JobRunner(factory, worker_id="warehouse-test").run_due() == 1
    with transaction(factory) as session:
        queued = session.scalars(
            select(Job).where(Job.task == tasks.TASK, Job.status == JobStatus.QUEUED)
        ).all()
        assert [job.run_at for job in queued] == [datetime(2026, 11, 20, 8, 2, tzinfo=UTC)]
    assert not state.manifest_path(installed.warehouse_dir).exists()  # type: ignore[arg-type]


def test_cli_sync_and_status(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("SIYU_DATABASE_URL", url)
    monkeypatch.setenv("SIYU_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    try:
        upgrade(url)
        engine = make_engine(url)
        with transaction(make_session_factory(engine)) as session:
            customer = make_customer(session, at=T0)
            for _ in range(3):
                make_event(session, customer, occurred_at=T0)
        engine.dispose()
        runner = CliRunner()
        synced = runner.invoke(app, ["warehouse", "sync"])
        assert synced.exit_code == 0, synced.output
        assert "events: 3\n" in synced.output
        assert "customers: 1\n" in synced.output
        assert "exported 4 rows" in synced.output
        assert (tmp_path / "data" / "warehouse" / "_state" / "manifest.json").exists()
        again = runner.invoke(app, ["warehouse", "sync"])
        assert "exported 0 rows" in again.output
        shown = runner.invoke(app, ["warehouse", "status"])
        assert shown.exit_code == 0, shown.output
        assert "last sync: 2026-11-20T08:00:00" in shown.output
        events_line = next(line for line in shown.output.splitlines() if line.startswith("events"))
        assert events_line.split()[1] == "3"
    finally:
        get_settings.cache_clear()
