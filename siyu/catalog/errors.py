"""Stable error codes of the catalog (stock codes live in ``stock_errors``)."""

from __future__ import annotations

from siyu.catalog.stock_errors import InvalidStockChange, StockInsufficient
from siyu.core.errors import Conflict, NotFound, ValidationFailed

__all__ = [
    "InvalidStockChange",
    "LocationUnknown",
    "SkuUnavailable",
    "StockInsufficient",
]


class SkuUnavailable(ValidationFailed):
    """``data.reason``: not_found | inactive | off_sale | channel_excluded | not_listed."""

    code = "catalog.sku_unavailable"
    message = "This item cannot be bought here."


class LocationUnknown(ValidationFailed):
    code = "catalog.location_unknown"
    message = "Unknown or inactive store."


class CatalogNotFound(NotFound):
    code = "catalog.not_found"


class CatalogConflict(Conflict):
    code = "catalog.conflict"


class InvalidCatalogInput(ValidationFailed):
    code = "catalog.invalid"
