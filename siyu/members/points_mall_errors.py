"""Stable error codes of the points mall (each a 4xx; a refused request changes nothing).

Insufficient points is the points ledger's own ``points.insufficient`` (409)."""

from __future__ import annotations

from siyu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed


class ItemNotFound(NotFound):
    code = "points_mall.item_not_found"
    message = "No such points-mall item."


class ExchangeNotFound(NotFound):
    code = "points_mall.exchange_not_found"
    message = "No such exchange."


class InvalidItem(ValidationFailed):
    code = "points_mall.invalid_item"


class SoldOut(Conflict):
    code = "points_mall.sold_out"
    message = "This item is sold out."


class LimitReached(Conflict):
    code = "points_mall.limit_reached"
    message = "You have reached this item's exchange limit."


class NotAvailable(Conflict):
    """Not active, not yet valid or no longer valid."""

    code = "points_mall.not_available"
    message = "This item cannot be exchanged now."


class TierRequired(PermissionDenied):
    code = "points_mall.tier_required"
    message = "Your member tier is too low for this item."


class InvalidExchange(ValidationFailed):
    code = "points_mall.invalid_exchange"


class NotStarted(Conflict):
    code = "points_mall.not_started"
    message = "This item cannot be exchanged yet."


class Ended(Conflict):
    code = "points_mall.ended"
    message = "This item can no longer be exchanged."
