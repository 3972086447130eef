"""Write generated rows straight into the warehouse's layout (for ``bench/audiences.py``).

The exporter (``siyu.warehouse.export``) reads the OLTP database; a 50 M-event brand
is generated faster straight into Parquet with DuckDB. This module writes the files
exactly as a sync does — each table's stored columns (``siyu.warehouse.tables``),
``_version`` and ``_seq``, one file per day partition — and then the manifest with
``siyu.warehouse.state``, with the watermarks and full-refresh times a completed sync
at ``now`` would leave, so a later ``export.sync`` continues from there.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from siyu.warehouse import state
from siyu.warehouse.engine import _DUCK_TYPES
from siyu.warehouse.tables import (
    BY_NAME,
    PARTITION_COLUMN,
    SEQ_COLUMN,
    SPECS,
    VERSION_COLUMN,
    TableSpec,
)

SEQ = 1
_SOURCE = re.compile(r"^\{\w+:(.*)\}$")


def _generated_column(source: str | None, name: str) -> str:
    """The generator's column behind a spec's source expression ("{ts:t.x}" → x)."""
    if source is None or source == "NULL":
        return name
    match = _SOURCE.match(source)
    inner = match.group(1) if match else source
    return inner.rsplit(".", 1)[-1]


def _projection(spec: TableSpec, available: set[str]) -> str:
    parts = []
    for column in spec.columns:
        if column.name in spec.transient:
            continue
        generated = _generated_column(column.source, column.name)
        expression = generated if generated in available else "NULL"
        parts.append(f"CAST({expression} AS {_DUCK_TYPES[column.type]}) AS {column.name}")
    versions = [
        _generated_column(source, "")
        for source in spec.version_columns
        if _generated_column(source, "") in available
    ]
    version = f"greatest({', '.join(versions)})" if versions else "bench_now()"
    parts.append(f"CAST({version} AS TIMESTAMP) AS {VERSION_COLUMN}")
    parts.append(f"CAST({SEQ} AS BIGINT) AS {SEQ_COLUMN}")
    if spec.partition_source is not None:
        day = _generated_column(spec.partition_source, "")
        parts.append(f"CAST({day} AS DATE) AS {PARTITION_COLUMN}")
    return ", ".join(parts)


def write_table(
    con: duckdb.DuckDBPyConnection, root: Path, name: str, select_sql: str, *, now: datetime
) -> int:
    spec = BY_NAME[name]
    available = {row[0] for row in con.execute(f"DESCRIBE {select_sql}").fetchall()}
    directory = root / name
    directory.mkdir(parents=True, exist_ok=True)
    query = f"SELECT {_projection(spec, available)} FROM ({select_sql})"
    if spec.partitioned:
        target = str(directory)
        options = (
            f"FORMAT parquet, COMPRESSION zstd, PARTITION_BY ({PARTITION_COLUMN}), "
            f"FILENAME_PATTERN 'part-{SEQ:06d}-{{i}}', OVERWRITE_OR_IGNORE"
        )
    else:
        target = str(directory / f"part-{SEQ:06d}-0.parquet")
        options = "FORMAT parquet, COMPRESSION zstd"
    con.execute(f"COPY ({query}) TO '{target}' ({options})")
    return sum(pq.ParquetFile(path).metadata.num_rows for path in directory.rglob("*.parquet"))


def write_manifest(root: Path, *, now: datetime) -> state.Manifest:
    """List every file and set each table's cursors as a sync at ``now`` leaves them."""
    manifest = state.Manifest(seq=SEQ, last_sync_at=now.isoformat())
    con = duckdb.connect()
    try:
        for spec in SPECS:
            table = manifest.table(spec.name)
            for path in sorted((root / spec.name).rglob("*.parquet")):
                partition = ""
                if spec.partitioned:
                    partition = path.parent.name.split("=", 1)[1]
                rows = pq.ParquetFile(path).metadata.num_rows
                relative = str(path.relative_to(root))
                table.files.append(state.FileEntry(relative, rows, SEQ, partition))
            if not table.files:
                continue
            files = [str(root / entry.path) for entry in table.files]
            newest, last_id = con.execute(
                f"SELECT max({VERSION_COLUMN}), max({spec.key}) FROM read_parquet(?)", [files]
            ).fetchall()[0]
            table.watermark = newest.isoformat() if newest else None
            table.newest = table.watermark
            if spec.id_cursor_on_sqlite:
                table.watermark_id = int(last_id)
            table.last_full_refresh_at = now.isoformat()
    finally:
        con.close()
    state.save(root, manifest)
    return manifest


def read_orders_pandas(root: Path) -> pd.DataFrame:
    """The orders' RFM columns as pandas reads them from the same Parquet files."""
    manifest = state.load(root)
    files = [str(root / entry.path) for entry in manifest.table("orders").files]
    columns = ["customer_id", "paid_at", "paid_amount", "refunded_amount"]
    return ds.dataset(files, format="parquet").to_table(columns=columns).to_pandas()
