"""The Parquet files of a sync: one temp file per partition while a table is read,
removal of what a killed sync left behind, and compaction of small files.

Split from ``export`` (which reads the OLTP database and commits the manifest); a
file here becomes visible to readers only when ``export`` lists it in the manifest.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from siyu.warehouse import state
from siyu.warehouse.tables import PARTITION_COLUMN, SEQ_COLUMN, SPECS, TableSpec

# Parquet row groups of about this many rows; at most BUFFERED_ROWS wait in memory.
ROW_GROUP_ROWS = 128_000
BUFFERED_ROWS = 1_000_000
# Compaction: a partition with this many files below COMPACT_SMALL_ROWS is merged.
COMPACT_MIN_FILES = 8
COMPACT_SMALL_ROWS = 2_000_000
# Files that left the manifest stay this long for connections that listed them.
RETIRED_GRACE = timedelta(minutes=10)
# The day partition of each exported row, computed by the export query.
DAY_COLUMN = "_day"


class PartitionWriters:
    """One temp Parquet file per partition of one table in one sync."""

    def __init__(self, root: Path, spec: TableSpec, seq: int) -> None:
        self.root = root
        self.spec = spec
        self.seq = seq
        self.schema = spec.stored_schema()
        self.open: dict[str, tuple[pq.ParquetWriter, Path, Path, list[int]]] = {}
        # Rows wait per partition until a row group is worth writing: a batch spread
        # over a year of days would otherwise leave row groups of a few hundred rows.
        self.pending: dict[str, list[pa.Table]] = {}
        self.pending_rows: dict[str, int] = {}
        self.buffered = 0

    def _relative(self, partition: str) -> str:
        name = f"part-{self.seq:08d}.parquet"
        if partition:
            return f"{self.spec.name}/{PARTITION_COLUMN}={partition}/{name}"
        return f"{self.spec.name}/{name}"

    def _writer(self, partition: str) -> tuple[pq.ParquetWriter, Path, Path, list[int]]:
        held = self.open.get(partition)
        if held is None:
            final = self.root / self._relative(partition)
            final.parent.mkdir(parents=True, exist_ok=True)
            temp = final.with_name(final.name + state.TEMP_SUFFIX)
            writer = pq.ParquetWriter(temp, self.schema, compression="zstd")
            held = (writer, temp, final, [0])
            self.open[partition] = held
        return held

    def write(self, batch: pa.Table) -> None:
        seq = pa.array([self.seq] * batch.num_rows, pa.int64())
        if not self.spec.partitioned:
            table = batch.append_column(SEQ_COLUMN, seq).select(self.schema.names)
            self._append("", table.cast(self.schema))
            return
        batch = batch.append_column(SEQ_COLUMN, seq)
        batch = batch.sort_by(DAY_COLUMN)
        days = batch[DAY_COLUMN].combine_chunks()
        runs = pc.run_end_encode(days)
        start = 0
        for end, value in zip(runs.run_ends.to_pylist(), runs.values.to_pylist(), strict=True):
            part = batch.slice(start, end - start).select(self.schema.names)
            self._append(value.isoformat(), part.cast(self.schema))
            start = end

    def _append(self, partition: str, table: pa.Table) -> None:
        self.pending.setdefault(partition, []).append(table)
        self.pending_rows[partition] = self.pending_rows.get(partition, 0) + table.num_rows
        self.buffered += table.num_rows
        if self.pending_rows[partition] >= ROW_GROUP_ROWS:
            self._flush(partition)
        if self.buffered >= BUFFERED_ROWS:
            for name in list(self.pending):
                self._flush(name)

    def _flush(self, partition: str) -> None:
        tables = self.pending.pop(partition, [])
        count = self.pending_rows.pop(partition, 0)
        if not tables:
            return
        self.buffered -= count
        writer, _temp, _final, rows = self._writer(partition)
        writer.write_table(pa.concat_tables(tables), row_group_size=max(count, 1))
        rows[0] += count

    def finish(self) -> list[state.FileEntry]:
        for name in list(self.pending):
            self._flush(name)
        entries = []
        for partition, (writer, temp, final, rows) in self.open.items():
            writer.close()
            state.finish_temp(temp, final)
            entries.append(
                state.FileEntry(
                    path=final.relative_to(self.root).as_posix(),
                    rows=rows[0],
                    seq=self.seq,
                    partition=partition,
                )
            )
        self.open = {}
        return entries

    def abort(self) -> None:
        for writer, temp, _final, _rows in self.open.values():
            try:
                writer.close()
            finally:
                temp.unlink(missing_ok=True)
        self.open = {}


def cleanup(root: Path, manifest: state.Manifest, now: datetime) -> int:
    """Remove what a killed sync left behind and retired files past their grace."""
    removed = 0
    keep_retired: list[state.Retired] = []
    for retired in manifest.retired:
        if now - datetime.fromisoformat(retired.at) >= RETIRED_GRACE:
            (root / retired.path).unlink(missing_ok=True)
            removed += 1
        else:
            keep_retired.append(retired)
    manifest.retired = keep_retired
    protected = {entry.path for table in manifest.tables.values() for entry in table.files}
    protected.update(retired.path for retired in keep_retired)
    for spec in SPECS:
        directory = root / spec.name
        if not directory.is_dir():
            continue
        for path in sorted(directory.rglob("*"), reverse=True):
            if path.is_dir():
                if not any(path.iterdir()):
                    path.rmdir()
                continue
            if path.relative_to(root).as_posix() not in protected:
                path.unlink()
                removed += 1
    recent_dir = root / state.STATE_DIR / "recent"
    if recent_dir.is_dir():
        current = f"-{manifest.seq:08d}.parquet"
        for path in recent_dir.iterdir():
            if not path.name.endswith(current):
                path.unlink()
                removed += 1
    return removed


def compact(
    root: Path,
    seq: int,
    duck: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    files: list[state.FileEntry],
) -> tuple[list[state.FileEntry], list[state.FileEntry]]:
    """Merge each partition's small files into one; returns (files now, files retired)."""
    by_partition: dict[str, list[state.FileEntry]] = {}
    for entry in files:
        by_partition.setdefault(entry.partition, []).append(entry)
    result: list[state.FileEntry] = []
    retired: list[state.FileEntry] = []
    stored = spec.stored_schema().names
    for partition, entries in by_partition.items():
        small = [entry for entry in entries if entry.rows < COMPACT_SMALL_ROWS]
        if len(small) < COMPACT_MIN_FILES:
            result.extend(entries)
            continue
        result.extend(entry for entry in entries if entry.rows >= COMPACT_SMALL_ROWS)
        relative = Path(small[0].path).parent / f"part-{seq:08d}-c.parquet"
        final = root / relative
        temp = final.with_name(final.name + state.TEMP_SUFFIX)
        paths = ", ".join("'" + str(root / entry.path).replace("'", "''") + "'" for entry in small)
        dedupe = (
            ""
            if spec.append_only
            else (
                f" QUALIFY row_number() OVER (PARTITION BY {spec.key} "
                f"ORDER BY {SEQ_COLUMN} DESC) = 1"
            )
        )
        duck.execute(
            f"COPY (SELECT {', '.join(stored)} FROM read_parquet([{paths}], "
            f"hive_partitioning = false){dedupe}) TO '{str(temp).replace(chr(39), chr(39) * 2)}' "
            "(FORMAT parquet, COMPRESSION zstd)"
        )
        state.finish_temp(temp, final)
        rows = pq.ParquetFile(final).metadata.num_rows
        result.append(
            state.FileEntry(
                path=relative.as_posix(),
                rows=rows,
                seq=max(entry.seq for entry in small),
                partition=partition,
            )
        )
        retired.extend(small)
    return result, retired
