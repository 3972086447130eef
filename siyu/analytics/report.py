"""Report tables: the one shape every analytics view's table takes, and its exports.

Each view returns its numbers as JSON (the API) and, for every table it shows, a
``ReportTable``; ``?format=csv`` or ``?format=xlsx`` on the same endpoint (and the
console's export links) download that table. Money columns stay integer fen in JSON
and are exported as yuan with two decimals, which is what a spreadsheet user reads.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from fastapi.responses import Response
from openpyxl import Workbook

from siyu.analytics.errors import InvalidAnalyticsRequest


class ColumnKind(StrEnum):
    TEXT = "text"
    INTEGER = "integer"
    MONEY = "money"  # fen in the rows; yuan in exports
    RATIO = "ratio"  # 0..1 in the rows; a percentage in exports
    NUMBER = "number"  # any float
    DATE = "date"


class ExportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    XLSX = "xlsx"


@dataclass(frozen=True)
class ReportColumn:
    key: str
    label: str  # already translated for the caller's language
    kind: ColumnKind = ColumnKind.TEXT


@dataclass
class ReportTable:
    name: str  # file name stem: "gmv_by_day"
    columns: list[ReportColumn]
    rows: list[dict[str, Any]] = field(default_factory=list)


def _cell(value: Any, kind: ColumnKind) -> Any:
    if value is None:
        return None
    if kind is ColumnKind.MONEY:
        return round(value / 100, 2)
    if kind is ColumnKind.RATIO:
        return round(value * 100, 2)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _header(column: ReportColumn) -> str:
    if column.kind is ColumnKind.MONEY:
        return f"{column.label} (¥)"
    if column.kind is ColumnKind.RATIO:
        return f"{column.label} (%)"
    return column.label


def to_csv(table: ReportTable) -> bytes:
    """UTF-8 with a byte-order mark, so Excel on Windows opens Chinese text correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_header(column) for column in table.columns])
    for row in table.rows:
        writer.writerow([_cell(row.get(column.key), column.kind) for column in table.columns])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(table: ReportTable) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=table.name[:31] or "report")
    sheet.append([_header(column) for column in table.columns])
    for row in table.rows:
        sheet.append([_cell(row.get(column.key), column.kind) for column in table.columns])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def export_response(
    tables: list[ReportTable], export_format: ExportFormat, table_name: str | None
) -> Response:
    """The download of one table of a view: ``table_name`` picks it when the view has
    several (the first otherwise); an unknown name is a 400, never a 500."""
    chosen = tables[0] if tables and table_name is None else None
    for table in tables:
        if table.name == table_name:
            chosen = table
    if chosen is None:
        raise InvalidAnalyticsRequest(
            "No such table in this view.",
            data={"table": table_name, "tables": [table.name for table in tables]},
        )
    if export_format is ExportFormat.CSV:
        body, media_type, suffix = to_csv(chosen), "text/csv; charset=utf-8", "csv"
    else:
        body, media_type, suffix = to_xlsx(chosen), XLSX_MEDIA_TYPE, "xlsx"
    return Response(
        content=body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{chosen.name}.{suffix}"'},
    )
