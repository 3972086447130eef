"""The warehouse manifest: which Parquet files hold committed data, and the watermarks.

The manifest (``_state/manifest.json``) is the commit point of a sync: data files
are written first (temp file, fsync, rename), the manifest last (same way). Readers
only see files the manifest lists, so a sync killed at any step leaves the previous
manifest in force; files it wrote but never listed are orphans, removed by the next
sync before it starts, which then exports the same rows again from the unchanged
watermarks (no duplicates, no gaps).
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

STATE_DIR = "_state"
MANIFEST = "manifest.json"
LOCK = "sync.lock"
TEMP_SUFFIX = ".tmp"


@dataclass
class FileEntry:
    path: str  # relative to the root, e.g. "events/day=2026-11-20/part-000012-0.parquet"
    rows: int
    seq: int
    # The day partition ("2026-11-20") or "" for unpartitioned snapshots.
    partition: str = ""


@dataclass
class TableState:
    files: list[FileEntry] = field(default_factory=list)
    # Version cursor: the greatest version time exported (ISO, naive UTC).
    watermark: str | None = None
    # Id cursor (append-only tables on SQLite).
    watermark_id: int | None = None
    last_full_refresh_at: str | None = None
    # Newest version time ever exported: the freshness figure.
    newest: str | None = None

    @property
    def rows(self) -> int:
        return sum(entry.rows for entry in self.files)


@dataclass
class Retired:
    path: str
    at: str  # when it left the manifest; deleted after a grace period for open readers


@dataclass
class Manifest:
    seq: int = 0
    last_sync_at: str | None = None
    tables: dict[str, TableState] = field(default_factory=dict)
    retired: list[Retired] = field(default_factory=list)

    def table(self, name: str) -> TableState:
        return self.tables.setdefault(name, TableState())

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        tables = {
            name: TableState(
                files=[FileEntry(**entry) for entry in value.get("files", [])],
                watermark=value.get("watermark"),
                watermark_id=value.get("watermark_id"),
                last_full_refresh_at=value.get("last_full_refresh_at"),
                newest=value.get("newest"),
            )
            for name, value in data.get("tables", {}).items()
        }
        return cls(
            seq=int(data.get("seq", 0)),
            last_sync_at=data.get("last_sync_at"),
            tables=tables,
            retired=[Retired(**entry) for entry in data.get("retired", [])],
        )


def fsync_dir(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def atomic_write_bytes(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(target.name + TEMP_SUFFIX)
    with open(temp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, target)
    fsync_dir(target.parent)


def atomic_write_parquet(target: Path, table: pa.Table) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(target.name + TEMP_SUFFIX)
    pq.write_table(table, temp, compression="zstd")
    finish_temp(temp, target)


def finish_temp(temp: Path, target: Path) -> None:
    """fsync a written temp file and rename it into place."""
    descriptor = os.open(temp, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.replace(temp, target)
    fsync_dir(target.parent)


def manifest_path(root: Path) -> Path:
    return root / STATE_DIR / MANIFEST


def load(root: Path) -> Manifest:
    path = manifest_path(root)
    if not path.exists():
        return Manifest()
    return Manifest.from_json(json.loads(path.read_text()))


def save(root: Path, manifest: Manifest) -> None:
    atomic_write_bytes(
        manifest_path(root), json.dumps(manifest.to_json(), ensure_ascii=False).encode()
    )


def recent_path(root: Path, table: str) -> Path:
    """The (key, version) pairs exported inside the late-commit window of ``table``."""
    return root / STATE_DIR / "recent" / f"{table}.parquet"


@contextmanager
def sync_lock(root: Path, *, wait: bool) -> Iterator[bool]:
    """Hold the root's sync lock (one sync at a time per warehouse directory).

    A file lock, released by the kernel when the process dies, so a killed sync
    never leaves the warehouse locked. Yields False when ``wait`` is off and another
    sync holds it.
    """
    path = root / STATE_DIR / LOCK
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        flags = fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB
        try:
            fcntl.flock(handle.fileno(), flags)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
