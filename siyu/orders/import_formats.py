"""Reading purchase histories for `siyu import transactions` (docs/import.md).

Two formats:

* ``cdnow`` — the CDNOW cohort file: ``customer_id yyyymmdd number_of_cds dollar_value``
  separated by blanks, an optional header line. It has no order id; rows are numbered
  per customer and day in file order, which is stable for the same file.
* ``csv`` — a brand's own export with a header row: ``customer_id``, ``timestamp``
  (ISO-8601; without an offset it is Asia/Shanghai time), ``order_id``, ``amount``
  (yuan, at most two decimals), and optionally ``sku_code``, ``quantity``,
  ``store_code``, ``channel_code``. Rows sharing an ``order_id`` are the lines of one
  order and must agree on customer, timestamp, store and channel.

Parsing checks every row and collects every problem with its line number; the caller
gets either the whole file as orders or :class:`ImportRejected` with the list.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from siyu.core.errors import ValidationFailed

LOCAL_TIME = ZoneInfo("Asia/Shanghai")
MAX_REPORTED_ERRORS = 100
MAX_CUSTOMER_ID_LENGTH = 128
# external_id is "<platform>:<order id>" in a 64-character column.
MAX_EXTERNAL_ID_LENGTH = 64
MAX_QUANTITY = 9999
# Amounts above this are surely a unit mistake (fen given as yuan): 10 million yuan.
MAX_AMOUNT_FEN = 10**9
PLATFORM = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,31}$")
CSV_REQUIRED = ("customer_id", "timestamp", "order_id", "amount")
CSV_OPTIONAL = ("sku_code", "quantity", "store_code", "channel_code")


class ImportFormat(StrEnum):
    CDNOW = "cdnow"
    CSV = "csv"


class ImportRejected(ValidationFailed):
    code = "import.invalid_rows"
    message = "The file has rows that cannot be imported; nothing was written."


class InvalidPlatform(ValidationFailed):
    code = "import.invalid_platform"
    message = "A platform name is 1–32 lower-case letters, digits, '_', '.' or '-'."


@dataclass(frozen=True)
class RowError:
    line: int
    message: str


@dataclass
class ImportLine:
    line: int
    amount: int
    quantity: int
    sku_code: str


@dataclass
class ImportOrder:
    line: int
    order_ref: str
    customer_ref: str
    occurred_at: datetime
    store_code: str
    channel_code: str
    lines: list[ImportLine] = field(default_factory=list)

    @property
    def amount(self) -> int:
        return sum(line.amount for line in self.lines)


def check_platform(platform: str) -> str:
    if not PLATFORM.match(platform):
        raise InvalidPlatform(data={"platform": platform})
    return platform


def reject(errors: list[RowError]) -> ImportRejected:
    return ImportRejected(
        data={
            "error_count": len(errors),
            "errors": [
                {"line": error.line, "message": error.message}
                for error in errors[:MAX_REPORTED_ERRORS]
            ],
        }
    )


def parse_amount(raw: str) -> int:
    """Yuan with at most two decimals to fen; ValueError otherwise."""
    try:
        value = Decimal(raw.strip())
    except InvalidOperation as error:
        raise ValueError(f"amount {raw!r} is not a number") from error
    if not value.is_finite() or value < 0:
        raise ValueError(f"amount {raw!r} must be zero or more")
    fen = value * 100
    if fen != fen.to_integral_value():
        raise ValueError(f"amount {raw!r} has more than two decimals")
    if fen > MAX_AMOUNT_FEN:
        raise ValueError(f"amount {raw!r} is implausibly large")
    return int(fen)


def parse_timestamp(raw: str) -> datetime:
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError as error:
        raise ValueError(f"timestamp {raw!r} is not ISO-8601") from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LOCAL_TIME)
    return moment.astimezone(UTC)


def parse_quantity(raw: str) -> int:
    text = raw.strip()
    if not text:
        return 1
    if not text.isdigit() or not 1 <= int(text) <= MAX_QUANTITY:
        raise ValueError(f"quantity {raw!r} must be a whole number from 1 to {MAX_QUANTITY}")
    return int(text)


def _check_customer(raw: str) -> str:
    value = raw.strip()
    if not value or len(value) > MAX_CUSTOMER_ID_LENGTH:
        raise ValueError(f"customer_id must be 1–{MAX_CUSTOMER_ID_LENGTH} characters")
    return value


def _check_order_ref(raw: str, platform: str) -> str:
    value = raw.strip()
    if not value or len(platform) + 1 + len(value) > MAX_EXTERNAL_ID_LENGTH:
        room = MAX_EXTERNAL_ID_LENGTH - len(platform) - 1
        raise ValueError(f"order_id must be 1–{room} characters")
    return value


def read_cdnow(lines: Iterable[str]) -> list[ImportOrder]:
    orders: list[ImportOrder] = []
    errors: list[RowError] = []
    per_day: dict[tuple[str, str], int] = {}
    for number, text in enumerate(lines, start=1):
        fields = text.split()
        if not fields:
            continue
        if number == 1 and not fields[0].isdigit():
            continue  # the header line
        try:
            if len(fields) != 4:
                raise ValueError(f"expected 4 fields, found {len(fields)}")
            customer, day, count, dollars = fields
            customer = _check_customer(customer)
            if not (len(day) == 8 and day.isdigit()):
                raise ValueError(f"date {day!r} is not yyyymmdd")
            try:
                local = datetime.strptime(day, "%Y%m%d").replace(tzinfo=LOCAL_TIME)
            except ValueError as error:
                raise ValueError(f"date {day!r} does not exist") from error
            quantity = parse_quantity(count)
            amount = parse_amount(dollars)
        except ValueError as error:
            errors.append(RowError(number, str(error)))
            continue
        sequence = per_day.get((customer, day), 0) + 1
        per_day[(customer, day)] = sequence
        order = ImportOrder(
            number, f"{customer}-{day}-{sequence}", customer, local.astimezone(UTC), "", ""
        )
        order.lines.append(ImportLine(number, amount, quantity, ""))
        orders.append(order)
    if errors:
        raise reject(errors)
    return orders


def read_csv(lines: Iterable[str], platform: str) -> list[ImportOrder]:
    reader = csv.DictReader(lines)
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in CSV_REQUIRED if name not in header]
    if missing:
        raise reject([RowError(1, f"header lacks required columns: {', '.join(missing)}")])
    reader.fieldnames = header
    orders: dict[str, ImportOrder] = {}
    errors: list[RowError] = []
    for row in reader:
        number = reader.line_num
        values: dict[str, str] = {
            key: (row.get(key) or "").strip() for key in (*CSV_REQUIRED, *CSV_OPTIONAL)
        }
        try:
            if None in row:
                raise ValueError("more fields than the header has")
            customer = _check_customer(values["customer_id"])
            order_ref = _check_order_ref(values["order_id"], platform)
            occurred = parse_timestamp(values["timestamp"])
            amount = parse_amount(values["amount"])
            quantity = parse_quantity(values["quantity"])
            sku_code = values["sku_code"]
            if len(sku_code) > 64:
                raise ValueError("sku_code is longer than 64 characters")
            store_code, channel_code = values["store_code"], values["channel_code"]
            order = orders.get(order_ref)
            if order is None:
                order = orders[order_ref] = ImportOrder(
                    number, order_ref, customer, occurred, store_code, channel_code
                )
            elif (order.customer_ref, order.occurred_at, order.store_code, order.channel_code) != (
                customer,
                occurred,
                store_code,
                channel_code,
            ):
                raise ValueError(
                    f"order {order_ref!r} was first seen on line {order.line} with another "
                    "customer, timestamp, store or channel"
                )
            order.lines.append(ImportLine(number, amount, quantity, sku_code))
        except ValueError as error:
            errors.append(RowError(number, str(error)))
    if errors:
        raise reject(errors)
    return list(orders.values())


def read_file(path: Path, file_format: ImportFormat, platform: str) -> list[ImportOrder]:
    check_platform(platform)
    # utf-8-sig: spreadsheet exports often start with a byte-order mark.
    with path.open(encoding="utf-8-sig", newline="") as handle:
        if file_format is ImportFormat.CDNOW:
            # CDNOW order refs (id-date-n) are short enough for any valid platform name.
            return read_cdnow(handle)
        return read_csv(handle, platform)


def describe(error: ImportRejected) -> list[str]:
    """The error report as lines for a terminal."""
    data: dict[str, Any] = error.data
    lines = [f"{error.message} ({data.get('error_count', 0)} problems)"]
    lines += [f"  line {item['line']}: {item['message']}" for item in data.get("errors", [])]
    if data.get("error_count", 0) > len(data.get("errors", [])):
        lines.append(f"  … and {data['error_count'] - len(data['errors'])} more")
    return lines
