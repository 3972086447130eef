"""Bulk writing for the demo generator: explicit ids, batched Core inserts.

The generator allocates primary keys itself so that orders, lines, payments and
events can reference each other before anything is written; one multi-row INSERT
per table and batch then replaces tens of thousands of ORM flushes. This is only
safe because the demo writes into a database nobody else is writing to (the
catalog-is-empty check runs first, and everything happens in one transaction).
PostgreSQL sequences are moved past the ids used when the generator is done.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import FromClause, Table, func, insert, select, text
from sqlalchemy.orm import Session

from siyu.models.base import Base

# Rows per executemany call: large enough to amortise the round trip, small enough
# to keep the parameter lists of one call in a few megabytes.
BATCH_ROWS = 5000


class IdAllocator:
    """Hands out consecutive primary keys per table, starting after the current maximum."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._next: dict[str, int] = {}
        self.used: set[str] = set()

    def take(self, table: Table | str) -> int:
        name = table if isinstance(table, str) else table.name
        if name not in self._next:
            column = Base.metadata.tables[name].c.id
            current = self._session.execute(select(func.max(column))).scalar()
            self._next[name] = int(current or 0) + 1
        value = self._next[name]
        self._next[name] = value + 1
        self.used.add(name)
        return value

    def fix_sequences(self) -> None:
        """On PostgreSQL, move each serial sequence past the ids written explicitly."""
        if self._session.get_bind().dialect.name != "postgresql":
            return
        for name in sorted(self.used):
            self._session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), "
                    f'(SELECT COALESCE(MAX(id), 1) FROM "{name}"))'
                )
            )


class BulkWriter:
    """Buffers rows per table and writes them with multi-row Core inserts."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._buffers: dict[str, list[dict[str, Any]]] = {}
        self.counts: dict[str, int] = {}
        # While held, no flush happens: rows of one order are still being completed
        # in place and children must not be written before their parent's final state.
        self._held = False
        self._full = False

    def add(self, table: FromClause, row: dict[str, Any]) -> None:
        # Model.__table__ is typed as a FromClause; every one of them is a Table.
        buffer = self._buffers.setdefault(cast(Table, table).name, [])
        buffer.append(row)
        if len(buffer) >= BATCH_ROWS:
            self._full = True
            if not self._held:
                # Everything, parents first: a child batch may reference buffered parents.
                self.flush()

    def hold(self) -> None:
        self._held = True

    def release(self) -> None:
        self._held = False
        if self._full:
            self.flush()

    def extend(self, table: FromClause, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            self.add(table, row)

    def _flush_table(self, name: str) -> None:
        rows = self._buffers.get(name)
        if not rows:
            return
        self._session.connection().execute(insert(Base.metadata.tables[name]), rows)
        self.counts[name] = self.counts.get(name, 0) + len(rows)
        self._buffers[name] = []

    def flush(self) -> None:
        # Parents before children: the metadata's dependency order satisfies the FKs.
        for table in Base.metadata.sorted_tables:
            self._flush_table(table.name)
        self._full = False
