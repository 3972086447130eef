"""Shared pieces of the console's orders pages: money in yuan, filter parsing, the
wording of order and refund errors, and the names shown next to ids.

Amounts are integer fen everywhere else; this module is where the console turns
them into "¥129.00" and an operator's "12.5" back into 1250.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core.errors import SiyuError
from siyu.models.channel_code import ChannelCode
from siyu.models.location import Location
from siyu.models.staff import Staff
from siyu.orders.errors import InvalidRefund
from siyu.web.console.errors import error_message
from siyu.web.i18n import Translator
from siyu.web.money import display_yuan, yuan_to_fen

ORDERS_PATH = "/console/orders"
REFUNDS_PATH = ORDERS_PATH + "/refunds"
PAYMENTS_PATH = ORDERS_PATH + "/payments"
ACTIVE = "orders"
# Error data fields given in fen, shown to operators in yuan.
_FEN_FIELDS = ("maximum", "amount")


format_yuan = display_yuan


def parse_yuan(text: str) -> int | None:
    """An operator's amount in yuan ("12", "12.5", "¥12.50") in fen; None when blank."""
    try:
        return yuan_to_fen(text)
    except ValueError as error:
        raise InvalidRefund(
            "Enter the amount in yuan with at most two decimals.",
            data={"field": "amount", "reason": "format"},
        ) from error


def parse_quantity(text: str, line_no: int) -> int:
    """A refund quantity typed for one line; blank means none of it."""
    cleaned = text.strip()
    if not cleaned:
        return 0
    if not re.fullmatch(r"-?\d{1,6}", cleaned):
        raise InvalidRefund(
            "Enter whole units to refund.",
            data={"field": "items", "reason": "format", "line_no": line_no},
        )
    return int(cleaned)


def parse_day(text: str | None) -> date | None:
    """A filter date (YYYY-MM-DD); None when blank or malformed (the filter is ignored)."""
    if not text or not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """Midnight of ``day`` in the installation's zone, as the UTC moment stored rows use."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def next_day_start(day: date, zone: ZoneInfo) -> datetime:
    return day_start(day + timedelta(days=1), zone)


def optional_id(raw: str | None) -> int | None:
    # Filter selects send "" for "any"; anything else that is not a number is ignored.
    return int(raw) if raw and raw.strip().isdigit() else None


def orders_error_message(t: Translator, error: SiyuError) -> str:
    """The console's wording for an order or refund error, most specific first:
    ``orders.error.<code>.<field or reason>[.<variant>]``, then the shared catalogue."""
    fields: dict[str, Any] = dict(error.data)
    for name in _FEN_FIELDS:
        value = fields.get(name)
        if isinstance(value, int):
            fields[f"{name}_yuan"] = format_yuan(value)
    status = fields.get("status")
    if isinstance(status, str):
        fields["status_label"] = t(f"orders.status.{status}")
        fields["refund_status_label"] = t(f"orders.refunds.status.{status}")
    detail = fields.get("field") or fields.get("reason")
    keys = []
    if isinstance(detail, str):
        if "refundable" in fields:
            keys.append(f"orders.error.{error.code}.{detail}.exceeds")
        elif fields.get("reason") == "format":
            keys.append(f"orders.error.{error.code}.{detail}.format")
        elif "line_no" in fields:
            keys.append(f"orders.error.{error.code}.{detail}.unknown_line")
        keys.append(f"orders.error.{error.code}.{detail}")
    keys.append(f"orders.error.{error.code}")
    for key in keys:
        if t.has(key):
            return t(key, **fields)
    return error_message(t, error)


def location_names(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {value for value in ids if value is not None}
    if not wanted:
        return {}
    rows = session.execute(select(Location.id, Location.name).where(Location.id.in_(wanted)))
    return {key: value for key, value in rows}


def staff_names(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {value for value in ids if value is not None}
    if not wanted:
        return {}
    rows = session.execute(
        select(Staff.id, Staff.display_name, Staff.username).where(Staff.id.in_(wanted))
    )
    return {row.id: row.display_name or row.username for row in rows}


def channel_code_label(session: Session, channel_code_id: int | None) -> str | None:
    if channel_code_id is None:
        return None
    row = session.execute(
        select(ChannelCode.code, ChannelCode.name).where(ChannelCode.id == channel_code_id)
    ).first()
    if row is None:
        return f"#{channel_code_id}"
    return f"{row.name} ({row.code})"
