"""A live siyu server and Debian's Chromium for the browser tests.

The server runs in a background thread on a free 127.0.0.1 port against a freshly
migrated SQLite file with one admin and a few jobs that really ran (so the dashboard
chart has bars). The browser is /usr/bin/chromium, never a downloaded one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from siyu.app import create_app
from siyu.core import jobs
from siyu.core.db import make_engine, make_session_factory, transaction
from siyu.core.migrations import upgrade
from siyu.core.settings import Settings
from siyu.staff import service as staff_service
from siyu.staff.principal import command_line_principal
from tests.live import serve

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin-password-1"
FINISHED_JOBS = 3


@dataclass(frozen=True)
class LiveServer:
    base_url: str
    settings: Settings

    def url(self, path: str) -> str:
        return self.base_url + path


def _seed(database_url: str) -> None:
    factory = make_session_factory(make_engine(database_url))
    with transaction(factory) as session:
        staff_service.create_staff(
            session,
            command_line_principal(),
            username=ADMIN_USERNAME,
            password=ADMIN_PASSWORD,
            roles=["admin"],
            display_name="系统管理员",
        )
    # Real jobs through the real runner, so the chart shows what the worker did.
    registry = jobs.TaskRegistry()
    registry.register("e2e.noop", lambda _session, _payload: None)
    with transaction(factory) as session:
        for number in range(FINISHED_JOBS):
            jobs.enqueue(session, "e2e.noop", {"number": number}, registry=registry)
    runner = jobs.JobRunner(factory, registry, worker_id="e2e-seed")
    assert runner.run_due(limit=FINISHED_JOBS) == FINISHED_JOBS


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("e2e")
    database_url = f"sqlite:///{data_dir / 'siyu.db'}"
    upgrade(database_url)
    _seed(database_url)
    settings = Settings(
        database_url=database_url,
        data_dir=data_dir,
        secret_key="e2e-" + "k" * 40,
        run_worker=False,
    )
    with serve(create_app(settings, start_worker=False), name="siyu-e2e-server") as base_url:
        yield LiveServer(base_url, settings)
