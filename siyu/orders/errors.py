"""Stable error codes of carts, checkout, orders, payments and refunds."""

from __future__ import annotations

from siyu.core.errors import Conflict, NotFound, ValidationFailed


class InvalidQuantity(ValidationFailed):
    code = "order.invalid_quantity"
    message = "The quantity must be between 1 and the item's per-order limit."


class EmptyOrder(ValidationFailed):
    code = "order.empty"
    message = "There is nothing to order."


class InvalidCheckout(ValidationFailed):
    code = "order.invalid_checkout"


class OrderNotFound(NotFound):
    code = "order.not_found"
    message = "No such order."


class InvalidTransition(Conflict):
    """The order is not in a state that allows this (pay a cancelled order …)."""

    code = "order.invalid_transition"
    message = "The order's status does not allow this."


class CartFull(ValidationFailed):
    code = "cart.full"
    message = "The cart holds too many different items."


class RefundNotAllowed(Conflict):
    code = "refund.not_allowed"
    message = "This order cannot be refunded now."


class InvalidRefund(ValidationFailed):
    """Refunding more than was paid, more units than bought, unknown lines …"""

    code = "refund.invalid"


class RefundNotFound(NotFound):
    code = "refund.not_found"
    message = "No such refund."


class RefundStateConflict(Conflict):
    code = "refund.invalid_transition"
    message = "The refund's status does not allow this."


class PaymentNotFound(NotFound):
    code = "payment.not_found"
    message = "No such payment."


class PaymentNotAllowed(Conflict):
    code = "payment.not_allowed"
    message = "This order cannot be paid now."
