"""What the HTTP benchmarks share: a fresh database, one ``siyu serve`` process, CPU
accounting and percentiles. Imported by the scripts in this folder (run them as
``.venv/bin/python bench/<name>.py``, which puts this folder on ``sys.path``)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import text

from siyu.core.db import make_engine
from siyu.core.migrations import upgrade

SECRET_KEY = "bench-secret-key-" + "b" * 32


def reset_database(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    upgrade(url)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(url: str, data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    environment = dict(
        os.environ,
        SIYU_DATABASE_URL=url,
        SIYU_SECRET_KEY=SECRET_KEY,
        SIYU_DATA_DIR=str(data_dir),
        SIYU_RUN_WORKER=os.environ.get("SIYU_RUN_WORKER", "true"),
    )
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "siyu"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("the server did not start")


def process_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks
