"""Races on usernames end in one account and clean 409s; the demo login stays true."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from siyu.core import security
from siyu.core.db import transaction
from siyu.core.errors import SiyuError
from siyu.core.settings import Settings
from siyu.demo.setup import DEMO_USERNAME, prepare_demo
from siyu.models.staff import AuditLog, Role, Staff
from siyu.staff import service as staff_service
from siyu.staff.principal import command_line_principal


def test_concurrent_creates_of_one_username_make_one_account(
    committed_engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    outcomes: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def create() -> None:
        barrier.wait()
        try:
            with transaction(session_factory) as session:
                staff_service.create_staff(
                    session,
                    command_line_principal(),
                    username="racer",
                    password="long-enough-1",
                    roles=[Role.GUIDE],
                )
            result = "created"
        except SiyuError as error:
            result = error.code
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["created"] + ["staff.username_taken"] * 7
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Staff)) == 1
        assert session.scalar(select(func.count()).select_from(AuditLog)) == 1


def test_prepare_demo_is_repeatable_and_repairs_the_login(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/demo.db", data_dir=tmp_path)
    first = prepare_demo(settings)
    assert first.username == DEMO_USERNAME
    assert prepare_demo(settings) == first

    from siyu.core.db import make_engine, make_session_factory

    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        staff = staff_service.find_by_username(session, DEMO_USERNAME)
        assert staff is not None
        staff.password_hash = security.hash_password("something-else")
        staff.is_active = False
    assert prepare_demo(settings) == first
    with factory() as session:
        staff = staff_service.find_by_username(session, DEMO_USERNAME)
        assert staff is not None
        assert staff.is_active
        assert security.verify_password(staff.password_hash, first.password)
        assert [link.role for link in staff.roles] == ["admin"]
    engine.dispose()
