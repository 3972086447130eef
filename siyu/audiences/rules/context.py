"""Running compiled rules: a DuckDB connection with the warehouse views plus the
OLTP-side tables a rule may read, and the member query itself."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Executable, select
from sqlalchemy.orm import Session

from siyu.audiences.rules.compile import RESTRICT_VIEW, compile_rule
from siyu.audiences.rules.model import Rule
from siyu.core.db import driver_rows
from siyu.models.customer import CustomerStaffLink, CustomerTag
from siyu.warehouse.engine import Warehouse


def _id_table(session: Session, statement: Executable, names: tuple[str, str]) -> pa.Table:
    rows = driver_rows(session, statement)
    first = pa.array([row[0] for row in rows], pa.int64())
    second = pa.array([row[1] for row in rows], pa.int64())
    return pa.table({names[0]: first, names[1]: second})


def register_oltp_tables(
    con: duckdb.DuckDBPyConnection, session: Session, *, tag_ids: Collection[int] | None = None
) -> None:
    """Register ``customer_tags`` (only ``tag_ids`` when given) and ``active_staff_links``.

    Tags and WeCom relations change by the minute (operators tag by hand, guides add
    contacts), so they are read from the OLTP database rather than the last export."""
    register_customer_tags(con, session, tag_ids=tag_ids)
    links = select(CustomerStaffLink.customer_id, CustomerStaffLink.staff_id).where(
        CustomerStaffLink.removed_at.is_(None)
    )
    con.register("active_staff_links", _id_table(session, links, ("customer_id", "staff_id")))


def register_customer_tags(
    con: duckdb.DuckDBPyConnection, session: Session, *, tag_ids: Collection[int] | None = None
) -> None:
    """(Re)register ``customer_tags`` from the OLTP session, e.g. after rule tags were
    written and later rules must see them."""
    tags = select(CustomerTag.customer_id, CustomerTag.tag_id)
    if tag_ids is not None:
        tags = tags.where(CustomerTag.tag_id.in_(list(tag_ids)))
    con.register("customer_tags", _id_table(session, tags, ("customer_id", "tag_id")))


def open_context(
    session: Session,
    wh: Warehouse,
    *,
    tag_ids: Collection[int] | None = None,
) -> duckdb.DuckDBPyConnection:
    """``wh.connect()`` plus the OLTP-side tables; the caller closes it (``with``).

    ``tag_ids`` limits customer_tags to the tags the rules at hand reference
    (``referenced_tag_ids``), which keeps a preview cheap on a large brand.
    """
    con = wh.connect()
    try:
        register_oltp_tables(con, session, tag_ids=tag_ids)
    except BaseException:
        con.close()
        raise
    return con


def members(
    con: duckdb.DuckDBPyConnection,
    rule: Rule,
    *,
    now: datetime,
    restrict_to: pa.Array | None = None,
) -> pa.Array:
    """Sorted, unique int64 ids of the live customers the rule selects (within
    ``restrict_to`` when given: an incremental refresh)."""
    compiled = compile_rule(rule, now=now, restricted=restrict_to is not None)
    if restrict_to is not None:
        ids = pa.table({"customer_id": pc.cast(restrict_to, pa.int64())})
        con.register(RESTRICT_VIEW, ids)
    try:
        result = con.sql(compiled.sql, params=compiled.params).to_arrow_table()
    finally:
        if restrict_to is not None:
            con.unregister(RESTRICT_VIEW)
    column = result.column("customer_id").combine_chunks()
    return pc.cast(column, pa.int64())
