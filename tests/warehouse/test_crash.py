"""A sync killed at any step leaves readers on the last commit; the next one completes
it with no duplicates and no files left over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from siyu.models.order import Order
from siyu.warehouse import export, state
from siyu.warehouse.engine import Warehouse
from siyu.warehouse.tables import SPECS
from tests.warehouse.conftest import T0
from tests.warehouse.factories import (
    make_coupon,
    make_customer,
    make_event,
    make_order,
    make_points,
)

Write = Callable[[], AbstractContextManager[Session]]
STEPS = ["cleaned", *(f"table:{spec.name}" for spec in SPECS), "compacted", "committed"]


class Killed(Exception):
    pass


def _counts(wh: Warehouse) -> dict[str, tuple[int, int]]:
    with wh.connect() as con:
        return {
            view: con.execute(f"SELECT count(*), count(DISTINCT {key}) FROM {view}").fetchone()  # type: ignore[misc]
            for view, key in (
                ("events", "id"),
                ("orders", "order_id"),
                ("order_lines", "line_id"),
                ("coupons", "coupon_id"),
                ("points", "entry_id"),
                ("customers", "customer_id"),
            )
        }


def _listed_files(wh: Warehouse) -> set[str]:
    manifest = state.load(wh.root)
    listed = {entry.path for table in manifest.tables.values() for entry in table.files}
    return listed | {retired.path for retired in manifest.retired}


def _data_files(wh: Warehouse) -> set[str]:
    return {
        path.relative_to(wh.root).as_posix()
        for spec in SPECS
        for path in (wh.root / spec.name).rglob("*")
        if path.is_file()
    }


def test_crash_at_every_step_then_the_next_sync_completes(
    committed_engine: Engine, write: Write, wh: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    with write() as session:
        first = make_customer(session, at=T0)
        order_id = make_order(session, first, at=T0).id
    export.sync(committed_engine, wh, now=T0)
    moment = T0
    for number, step in enumerate(STEPS, start=1):
        moment = T0 + timedelta(minutes=number)
        with write() as session:
            customer = make_customer(session, at=moment)
            make_event(
                session,
                customer,
                occurred_at=moment - timedelta(days=number % 3),
                received_at=moment,
            )
            make_order(session, customer, at=moment)
            make_coupon(session, customer, at=moment)
            make_points(session, customer, at=moment)
            session.execute(
                update(Order)
                .where(Order.id == order_id)
                .values(status=f"s{number}", updated_at=moment)
            )
        before = _counts(wh)
        manifest_before = state.manifest_path(wh.root).read_bytes()

        def crash(name: str, step: str = step) -> None:
            if name == step:
                raise Killed(step)

        monkeypatch.setattr(export, "_checkpoint", crash)
        with pytest.raises(Killed):
            export.sync(committed_engine, wh, now=moment)
        monkeypatch.undo()
        if step != "committed":
            # Nothing committed: readers see exactly what they saw before.
            assert state.manifest_path(wh.root).read_bytes() == manifest_before, step
            assert _counts(wh) == before, step
        export.sync(committed_engine, wh, now=moment)
        expected = number + 1
        assert _counts(wh) == {
            "events": (number, number),
            "orders": (expected, expected),
            "order_lines": (expected, expected),
            "coupons": (number, number),
            "points": (number, number),
            "customers": (expected, expected),
        }, step
        with wh.connect() as con:
            assert con.sql(
                "SELECT status FROM orders WHERE order_id = ?", params=[order_id]
            ).fetchall() == [(f"s{number}",)], step
        assert _data_files(wh) <= _listed_files(wh), step
        assert not list(wh.root.rglob("*.tmp")), step


def test_leftovers_of_a_killed_sync_are_removed(
    committed_engine: Engine, write: Write, wh: Warehouse
) -> None:
    with write() as session:
        make_event(session, make_customer(session, at=T0), occurred_at=T0)
    export.sync(committed_engine, wh, now=T0)
    partition = wh.root / "events" / "day=2026-11-20"
    (partition / "part-00000002.parquet.tmp").write_bytes(b"half a file")
    (partition / "part-00000002.parquet").write_bytes(b"renamed, never listed")
    (wh.root / "orders" / "day=2026-11-19").mkdir(parents=True)
    result = export.sync(committed_engine, wh, now=T0 + timedelta(minutes=1))
    assert result.removed_files == 2
    assert sorted(path.name for path in partition.iterdir()) == ["part-00000001.parquet"]
    assert not (wh.root / "orders" / "day=2026-11-19").exists()
    with wh.connect() as con:
        assert con.execute("SELECT count(*) FROM events").fetchone() == (1,)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_sync_killed_by_sigkill_is_completed(
    committed_engine: Engine, write: Write, wh: Warehouse, tmp_path: Path
) -> None:
    """A real kill (no ``finally`` runs): temp files and unlisted files stay behind."""
    with write() as session:
        customer = make_customer(session, at=T0)
        for day in range(3):
            make_event(session, customer, occurred_at=T0 - timedelta(days=day))
        make_order(session, customer, at=T0)
    script = tmp_path / "kill.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import os, signal
            from datetime import datetime
            from pathlib import Path
            from siyu.core.db import make_engine
            from siyu.warehouse import export
            from siyu.warehouse.engine import Warehouse

            real_finish = export.state.finish_temp
            calls = []

            def finish_then_die(temp, target):
                calls.append(target)
                if len(calls) == 3:
                    os.kill(os.getpid(), signal.SIGKILL)  # mid-export: 2 files renamed
                real_finish(temp, target)

            export.state.finish_temp = finish_then_die
            export.sync(
                make_engine({str(committed_engine.url)!r}),
                Warehouse(Path({str(wh.root)!r})),
                now=datetime(2026, 11, 20, 8, 0),
            )
            """
        )
    )
    completed = subprocess.run([sys.executable, str(script)], cwd=os.getcwd(), check=False)
    assert completed.returncode == -signal.SIGKILL
    assert list(wh.root.rglob("*.tmp"))
    assert not state.manifest_path(wh.root).exists()
    with wh.connect() as con:
        assert con.execute("SELECT count(*) FROM events").fetchone() == (0,)
    export.sync(committed_engine, wh, now=T0)
    assert not list(wh.root.rglob("*.tmp"))
    assert _data_files(wh) <= _listed_files(wh)
    with wh.connect() as con:
        assert con.execute("SELECT count(*), count(DISTINCT id) FROM events").fetchone() == (3, 3)
        assert con.execute("SELECT count(*) FROM orders").fetchone() == (1,)
