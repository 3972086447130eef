"""Stable error codes of the flash sale. Every refusal changes nothing."""

from __future__ import annotations

from siyu.core.errors import (
    Conflict,
    NotFound,
    ServiceUnavailable,
    TooManyRequests,
    ValidationFailed,
)


class InvalidFlashSale(ValidationFailed):
    code = "flash_sale.invalid"
    message = "The flash sale is invalid."


class InvalidReservation(ValidationFailed):
    code = "flash_sale.invalid_reservation"
    message = "The reservation request is invalid."


class SessionNotFound(NotFound):
    code = "flash_sale.session_not_found"
    message = "No such flash-sale session."


class ItemNotFound(NotFound):
    code = "flash_sale.item_not_found"
    message = "No such flash-sale item."


class ReservationNotFound(NotFound):
    code = "flash_sale.reservation_not_found"
    message = "No such reservation."


class SessionNotStarted(Conflict):
    code = "flash_sale.not_started"
    message = "This flash-sale session has not started yet."


class SessionEnded(Conflict):
    code = "flash_sale.ended"
    message = "This flash-sale session has ended."


class SoldOut(Conflict):
    code = "flash_sale.sold_out"
    message = "Sold out."


class LimitReached(Conflict):
    code = "flash_sale.limit_reached"
    message = "You have reached the limit for this item."


class SessionLocked(Conflict):
    """Selling has started: items and stock are what customers were promised."""

    code = "flash_sale.locked"
    message = "The session has started; its items can no longer change."


class RateLimited(TooManyRequests):
    code = "flash_sale.rate_limited"
    message = "Too many requests; try again shortly."


class RequestInFlight(TooManyRequests):
    code = "flash_sale.request_in_flight"
    message = "Your previous request is still being handled."


class EngineUnavailable(ServiceUnavailable):
    code = "flash_sale.engine_unavailable"
    message = "The flash sale's stock engine is not available."
