"""Incremental export from the OLTP database to Parquet (docs/warehouse.md).

One sync, under the root's lock:

1. remove what a killed sync left (temp files, files the manifest does not list)
   and retired files past their grace period;
2. for each table, read what changed since its watermark in batches straight into
   Arrow (``fetchmany``; a server-side cursor on PostgreSQL, all in one REPEATABLE
   READ snapshot), drop the rows already exported (late-commit window), and append
   them to new Parquet files (temp name, fsync, rename) - one per day partition;
3. compact partitions that gathered many small files into one;
4. write the manifest (the commit point) with the new files and watermarks.

A sync killed before step 4 changed nothing readers see, and the next sync exports
the same rows again from the same watermarks: no half partitions, no duplicates.
"""

from __future__ import annotations

import contextlib
import io
import queue
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json
import pyarrow.parquet as pq
from sqlalchemy import Engine, text

from siyu.core.db import READ_ONLY_OPTION
from siyu.warehouse import files, state
from siyu.warehouse.engine import Warehouse, naive_utc
from siyu.warehouse.files import DAY_COLUMN
from siyu.warehouse.tables import (
    FULL_REFRESH_INTERVAL,
    SPECS,
    VERSION_COLUMN,
    TableSpec,
)

BATCH_ROWS = 100_000
# How long after stamping its rows a transaction may still commit and be exported.
# SQLite commits one writer at a time, so only a time taken before the write lock
# can lag; PostgreSQL transactions overlap freely (docs/warehouse.md).
LATE_COMMIT_WINDOW = {"sqlite": timedelta(seconds=5), "postgresql": timedelta(seconds=120)}
_HASH = "_hash"
_SQLITE_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
_TEMPLATE_FIELD = re.compile(r"\{(ts|date|json|p):([^}]+)\}")


@dataclass
class SyncResult:
    rows: dict[str, int]
    seconds: float
    # Customers (survivor ids) whose exported data changed in this run.
    touched_customer_ids: pa.Array
    skipped: bool = False
    compacted_files: int = 0
    removed_files: int = 0


@dataclass
class _Outcome:
    rows: int = 0
    files: list[state.FileEntry] = field(default_factory=list)
    replaces_all: bool = False
    watermark: str | None = None
    watermark_id: int | None = None
    newest: str | None = None
    full_refresh_at: str | None = None
    recent: pa.Table | None = None
    customer_ids: list[pa.Array] = field(default_factory=list)


def _render(sql: str, dialect: str) -> str:
    def replace(match: re.Match[str]) -> str:
        kind, argument = match.group(1), match.group(2)
        if kind == "p":
            return f":{argument}" if dialect == "sqlite" else f"%({argument})s"
        if dialect == "sqlite":
            return argument
        if kind == "ts":
            return f"({argument} AT TIME ZONE 'UTC')"
        if kind == "json":
            return f"{argument}::text"
        return argument

    return _TEMPLATE_FIELD.sub(replace, sql)


def _version_sql(spec: TableSpec, dialect: str) -> str:
    columns = list(spec.version_columns)
    if len(columns) == 1:
        return f"{{ts:{columns[0]}}}"
    if dialect == "sqlite":
        # SQLite's max() of several values is NULL when one is NULL; '' sorts first.
        return "MAX(" + ", ".join(f"COALESCE({column}, '')" for column in columns) + ")"
    return "GREATEST(" + ", ".join(f"{{ts:{column}}}" for column in columns) + ")"


def _day_sql(spec: TableSpec, dialect: str) -> str:
    assert spec.partition_source is not None
    if dialect == "sqlite":
        return f"substr({spec.partition_source}, 1, 10)"
    return f"CAST({{ts:{spec.partition_source}}} AS DATE)"


def _query(spec: TableSpec, dialect: str, where: str) -> str:
    """One JSON document per row, built by the database.

    Fetching one text value per row and parsing the batch with Arrow's C++ JSON
    reader is several times faster than building a Python object per column value
    (measured: docs/warehouse.md); JSON columns arrive as text, as the views keep them.
    """
    parts = [(column.name, column.source or "t." + column.name) for column in spec.columns]
    parts.append((VERSION_COLUMN, _version_sql(spec, dialect)))
    if spec.partitioned:
        parts.append((DAY_COLUMN, _day_sql(spec, dialect)))
    pairs = ", ".join(f"'{name}', {expression}" for name, expression in parts)
    document = (
        f"json_object({pairs})" if dialect == "sqlite" else f"json_build_object({pairs})::text"
    )
    sql = f"SELECT {document} FROM {spec.from_sql}"
    if where:
        sql += f" WHERE {where}"
    return _render(sql, dialect)


def _sqlite_time(moment: datetime) -> str:
    return moment.strftime(_SQLITE_FORMAT)


class _Run:
    """One sync: shared state of the table exports."""

    def __init__(self, engine: Engine, wh: Warehouse, manifest: state.Manifest, now: datetime):
        self.engine = engine
        self.wh = wh
        self.root = wh.root
        self.manifest = manifest
        self.now = now
        self.seq = manifest.seq + 1
        self.dialect = engine.dialect.name
        self.window = LATE_COMMIT_WINDOW.get(self.dialect, timedelta(seconds=120))
        self.duck = wh.open_duckdb()
        self.products: pa.Table | None = None

    # Reading -----------------------------------------------------------------------

    def _arrow_batch(self, spec: TableSpec, rows: list[tuple[Any, ...]]) -> pa.Table:
        names = [column.name for column in spec.columns] + [VERSION_COLUMN]
        types: list[pa.DataType] = [column.type for column in spec.columns] + [pa.timestamp("us")]
        if spec.partitioned:
            names.append(DAY_COLUMN)
            types.append(pa.date32())
        # Times and dates are read as text and cast: SQLite writes "2026-11-20 08:00:00.000000",
        # PostgreSQL "2026-11-20T08:00:00"; the cast takes both.
        as_read = [
            pa.string() if pa.types.is_timestamp(type_) or pa.types.is_date(type_) else type_
            for type_ in types
        ]
        schema = pa.schema(
            [pa.field(name, type_) for name, type_ in zip(names, as_read, strict=True)]
        )
        data = "\n".join([row[0] for row in rows]).encode()
        table = pa_json.read_json(
            io.BytesIO(data),
            read_options=pa_json.ReadOptions(block_size=max(len(data), 1 << 20)),
            parse_options=pa_json.ParseOptions(
                explicit_schema=schema, unexpected_field_behavior="ignore"
            ),
        )
        arrays = []
        for name, type_ in zip(names, types, strict=True):
            column = table[name]
            if column.type != type_:
                column = pc.if_else(pc.equal(column, ""), pa.scalar(None, pa.string()), column)
                column = column.cast(type_)
            arrays.append(column)
        return pa.Table.from_arrays(arrays, names=names)

    def _read(
        self, connection: Any, spec: TableSpec, sql: str, params: dict[str, Any]
    ) -> Iterator[pa.Table]:
        """Yield Arrow batches of the query's rows.

        A thread fetches the next batch while this one is parsed and written: both
        the database driver and Arrow release the GIL, so the two cores overlap.
        """
        if self.dialect == "postgresql":
            # A named (server-side) cursor streams instead of loading every row.
            cursor = connection.cursor(name=f"siyu_warehouse_{spec.name}")
        else:
            cursor = connection.cursor()
        batches: queue.Queue[list[Any] | BaseException | None] = queue.Queue(maxsize=2)
        stop = threading.Event()

        def fetch() -> None:
            try:
                cursor.execute(sql, params)
                while not stop.is_set():
                    rows = cursor.fetchmany(BATCH_ROWS)
                    if not rows:
                        break
                    batches.put(rows)
                batches.put(None)
            except BaseException as error:
                batches.put(error)

        fetcher = threading.Thread(target=fetch, name=f"warehouse-{spec.name}", daemon=True)
        fetcher.start()
        try:
            while True:
                item = batches.get()
                if item is None:
                    break
                if isinstance(item, BaseException):
                    raise item
                yield self._arrow_batch(spec, item)
        finally:
            stop.set()
            # Drain so a fetcher blocked on a full queue can see ``stop`` and end.
            while fetcher.is_alive():
                with contextlib.suppress(queue.Empty):
                    batches.get(timeout=0.05)
            cursor.close()

    # Transforming -------------------------------------------------------------------

    def _transform(self, spec: TableSpec, batch: pa.Table) -> pa.Table:
        """Fill derived columns and the row hash in DuckDB (vectorised, never per row)."""
        self.duck.register("batch", batch)
        try:
            stored = [column.name for column in spec.columns if column.name not in spec.transient]
            hashed = ", ".join(f"b.{name}" for name in stored)
            if spec.name == "events":
                select = []
                for name in stored:
                    if name in ("campaign_id", "guide_id"):
                        select.append(
                            f"TRY_CAST(json_extract_string(b.context, '$.{name}') AS BIGINT) "
                            f"AS {name}"
                        )
                    elif name == "product_id":
                        select.append("p_id AS product_id")
                    elif name == "category_id":
                        select.append("p.category_id AS category_id")
                    else:
                        select.append(f"b.{name}")
                sql = (
                    f"SELECT {', '.join(select)}, b.{VERSION_COLUMN}, b.{DAY_COLUMN}, "
                    f"hash({hashed}) AS {_HASH} FROM (SELECT *, TRY_CAST(COALESCE("
                    "json_extract_string(properties, '$.spu_id'), "
                    "json_extract_string(properties, '$.product_id')) AS BIGINT) AS p_id "
                    "FROM batch) b LEFT JOIN products_map p ON p.product_id = b.p_id"
                )
            else:
                extra = f", b.{DAY_COLUMN}" if spec.partitioned else ""
                sql = (
                    f"SELECT {', '.join('b.' + name for name in stored)}, b.{VERSION_COLUMN}"
                    f"{extra}, hash({hashed}) AS {_HASH} FROM batch b"
                )
            return self.duck.sql(sql).to_arrow_table()
        finally:
            self.duck.unregister("batch")

    # Exporting one table ---------------------------------------------------------

    def export(self, connection: Any, spec: TableSpec) -> _Outcome:
        table_state = self.manifest.table(spec.name)
        outcome = _Outcome()
        params: dict[str, Any] = {}
        full = not table_state.files and table_state.watermark is None
        if spec.full_refresh and table_state.files:
            last = table_state.last_full_refresh_at
            full = last is None or self.now - datetime.fromisoformat(last) >= FULL_REFRESH_INTERVAL
        use_id_cursor = spec.id_cursor_on_sqlite is not None and self.dialect == "sqlite"
        recent = None if full or use_id_cursor else self._load_recent(spec)
        where = spec.extra_where
        if full:
            outcome.replaces_all = bool(table_state.files)
            outcome.full_refresh_at = self.now.isoformat()
        elif use_id_cursor and table_state.watermark_id is not None:
            where = f"{spec.id_cursor_on_sqlite} > {{p:wm_id}}"
            params["wm_id"] = table_state.watermark_id
        elif table_state.watermark is not None:
            since = datetime.fromisoformat(table_state.watermark) - self.window
            where = "(" + " OR ".join(f"{c} >= {{p:wm}}" for c in spec.version_columns) + ")"
            params["wm"] = (
                _sqlite_time(since) if self.dialect == "sqlite" else since.replace(tzinfo=UTC)
            )
        sql = _query(spec, self.dialect, where)
        writers = files.PartitionWriters(self.root, spec, self.seq)
        exported_keys: list[pa.Table] = []
        newest: datetime | None = None
        max_id: int | None = None
        try:
            for raw in self._read(connection, spec, sql, params):
                batch = self._transform(spec, raw)
                if recent is not None and recent.num_rows:
                    batch = batch.join(
                        recent.select([spec.key, _HASH]),
                        keys=[spec.key, _HASH],
                        join_type="left anti",
                    ).combine_chunks()
                if batch.num_rows == 0:
                    continue
                batch_newest = pc.max(batch[VERSION_COLUMN]).as_py()
                if batch_newest is not None and (newest is None or batch_newest > newest):
                    newest = batch_newest
                if use_id_cursor:
                    batch_max = pc.max(batch[spec.key]).as_py()
                    max_id = batch_max if max_id is None else max(max_id, batch_max)
                if not use_id_cursor and newest is not None:
                    # Only rows inside the window below the newest version can matter
                    # to the next run; a first export of millions keeps just those.
                    exported_keys = _within_window(
                        [*exported_keys, batch.select([spec.key, _HASH, VERSION_COLUMN])],
                        newest - self.window,
                    )
                for column in spec.customer_columns:
                    outcome.customer_ids.append(pc.unique(batch[column].combine_chunks()))
                if len(outcome.customer_ids) > 32:
                    outcome.customer_ids = [_unique_ids(outcome.customer_ids)]
                outcome.rows += batch.num_rows
                writers.write(batch.drop_columns([_HASH]))
            outcome.files = writers.finish()
        except BaseException:
            writers.abort()
            raise
        self._advance(spec, table_state, outcome, newest, max_id, use_id_cursor, full)
        if not use_id_cursor:
            outcome.recent = self._next_recent(spec, recent, exported_keys, outcome.watermark)
        return outcome

    def _advance(
        self,
        spec: TableSpec,
        table_state: state.TableState,
        outcome: _Outcome,
        newest: datetime | None,
        max_id: int | None,
        use_id_cursor: bool,
        full: bool,
    ) -> None:
        previous = table_state.watermark
        outcome.watermark = previous
        if newest is not None and (
            previous is None or full or newest > datetime.fromisoformat(previous)
        ):
            outcome.watermark = newest.isoformat()
        outcome.newest = outcome.watermark
        outcome.watermark_id = table_state.watermark_id
        if use_id_cursor and max_id is not None:
            outcome.watermark_id = max(max_id, table_state.watermark_id or 0)

    def _recent_file(self, spec: TableSpec, seq: int) -> Path:
        return self.root / state.STATE_DIR / "recent" / f"{spec.name}-{seq:08d}.parquet"

    def _load_recent(self, spec: TableSpec) -> pa.Table | None:
        path = self._recent_file(spec, self.manifest.seq)
        if not path.exists():
            return None
        return pq.read_table(path)

    def _next_recent(
        self,
        spec: TableSpec,
        recent: pa.Table | None,
        exported: list[pa.Table],
        watermark: str | None,
    ) -> pa.Table | None:
        """(key, hash, version) of exported rows inside the late-commit window."""
        if watermark is None:
            return None
        cutoff = datetime.fromisoformat(watermark) - self.window
        parts = list(exported)
        if recent is not None:
            parts.append(recent)
        if not parts:
            return None
        merged = pa.concat_tables(parts)
        return merged.filter(pc.greater_equal(merged[VERSION_COLUMN], pa.scalar(cutoff)))

    def close(self) -> None:
        self.duck.close()


def _within_window(parts: list[pa.Table], cutoff: datetime) -> list[pa.Table]:
    merged = pa.concat_tables(parts)
    return [merged.filter(pc.greater_equal(merged[VERSION_COLUMN], pa.scalar(cutoff)))]


def _unique_ids(parts: list[pa.Array]) -> pa.Array:
    return pc.unique(pa.chunked_array(parts, pa.int64()).combine_chunks())


def _checkpoint(step: str) -> None:
    """A named step of a sync; tests replace this to kill a sync at each step."""


def _open_snapshot(connection: Any, dialect: str) -> Any:
    """Start the read transaction every table is exported from; returns the DBAPI connection."""
    if dialect == "sqlite":
        # A read in the deferred transaction fixes SQLite's WAL snapshot.
        connection.execute(text("SELECT count(*) FROM sqlite_master"))
    else:
        connection.execute(text("SELECT 1"))
    return connection.connection.driver_connection


def sync(engine: Engine, wh: Warehouse, *, now: datetime, wait: bool = True) -> SyncResult:
    """Export what changed since the last sync; one sync at a time per warehouse root.

    With ``wait=False`` a sync already running makes this return at once with
    ``skipped=True`` (the scheduled job); otherwise it waits for the lock.
    """
    started = time.perf_counter()
    moment = naive_utc(now)
    wh.root.mkdir(parents=True, exist_ok=True)
    with state.sync_lock(wh.root, wait=wait) as acquired:
        if not acquired:
            return SyncResult(
                rows={}, seconds=0.0, touched_customer_ids=pa.array([], pa.int64()), skipped=True
            )
        manifest = state.load(wh.root)
        removed = files.cleanup(wh.root, manifest, moment)
        _checkpoint("cleaned")
        run = _Run(engine, wh, manifest, moment)
        try:
            outcomes = _export_all(run)
            compacted = _commit(run, outcomes)
        finally:
            run.close()
        touched = _touched(wh, outcomes)
    return SyncResult(
        rows={name: outcome.rows for name, outcome in outcomes.items()},
        seconds=time.perf_counter() - started,
        touched_customer_ids=touched,
        compacted_files=compacted,
        removed_files=removed,
    )


def _export_all(run: _Run) -> dict[str, _Outcome]:
    outcomes: dict[str, _Outcome] = {}
    options: dict[str, Any] = (
        {READ_ONLY_OPTION: True}
        if run.dialect == "sqlite"
        else {"isolation_level": "REPEATABLE READ"}
    )
    with run.engine.connect().execution_options(**options) as connection, connection.begin():
        raw = _open_snapshot(connection, run.dialect)
        products = connection.execute(text("SELECT id, category_id FROM product")).all()
        run.duck.register(
            "products_map",
            pa.table(
                {
                    "product_id": pa.array([row[0] for row in products], pa.int64()),
                    "category_id": pa.array([row[1] for row in products], pa.int64()),
                }
            ),
        )
        for spec in SPECS:
            outcomes[spec.name] = run.export(raw, spec)
            _checkpoint(f"table:{spec.name}")
    return outcomes


def _commit(run: _Run, outcomes: dict[str, _Outcome]) -> int:
    """Compact, write the late-commit sets, then the manifest (the commit point)."""
    manifest = run.manifest
    at = run.now.isoformat()
    compacted = 0
    for spec in SPECS:
        outcome = outcomes[spec.name]
        table_state = manifest.table(spec.name)
        retired: list[state.FileEntry] = []
        if outcome.replaces_all:
            retired.extend(table_state.files)
            table_state.files = []
        files_now, merged = files.compact(
            run.root, run.seq, run.duck, spec, table_state.files + outcome.files
        )
        # Files of this run that were merged at once were never listed: delete them now.
        for entry in merged:
            if entry.seq == run.seq and entry in outcome.files:
                (run.root / entry.path).unlink(missing_ok=True)
            else:
                retired.append(entry)
        compacted += len(merged)
        table_state.files = files_now
        manifest.retired.extend(state.Retired(path=entry.path, at=at) for entry in retired)
        table_state.watermark = outcome.watermark
        table_state.watermark_id = outcome.watermark_id
        if outcome.newest is not None:
            table_state.newest = outcome.newest
        if outcome.full_refresh_at is not None:
            table_state.last_full_refresh_at = outcome.full_refresh_at
        if outcome.recent is not None and outcome.recent.num_rows:
            state.atomic_write_parquet(run._recent_file(spec, run.seq), outcome.recent)
    _checkpoint("compacted")
    manifest.seq = run.seq
    manifest.last_sync_at = at
    state.save(run.root, manifest)
    _checkpoint("committed")
    return compacted


def _touched(wh: Warehouse, outcomes: dict[str, _Outcome]) -> pa.Array:
    parts = [ids for outcome in outcomes.values() for ids in outcome.customer_ids]
    if not parts:
        return pa.array([], pa.int64())
    ids = _unique_ids(parts)
    ids = ids.filter(pc.is_valid(ids))
    with wh.connect() as con:
        con.register("touched", pa.table({"customer_id": ids}))
        resolved = con.sql(
            "SELECT DISTINCT COALESCE(s.survivor_id, t.customer_id) AS customer_id "
            "FROM touched t LEFT JOIN _survivor s ON s.merged_id = t.customer_id "
            "ORDER BY 1"
        ).to_arrow_table()
    return resolved["customer_id"].combine_chunks()
