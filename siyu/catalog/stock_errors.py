"""Stable error codes of stock changes."""

from __future__ import annotations

from siyu.core.errors import Conflict, ValidationFailed


class StockInsufficient(Conflict):
    code = "stock.insufficient"
    message = "Not enough stock."


class InvalidStockChange(ValidationFailed):
    code = "stock.invalid_change"
    message = "The stock change is invalid."
