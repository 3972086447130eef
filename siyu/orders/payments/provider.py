"""The payment provider interface.

siyu talks to a provider in three moments: starting a payment (prepay), hearing the
outcome (a signed notification, or an active query when a notification is late) and
refunding. Providers never touch the database: ``siyu.orders.payments.service``
decides what a notice means for an order. Calls to a provider are made outside any
database transaction (DESIGN.md convention 2): a provider may be slow or down, and a
held SQLite write lock would stop every other writer meanwhile.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from siyu.core.errors import SiyuError


class NotificationInvalid(SiyuError):
    """A notification whose signature, timestamp or encryption does not verify."""

    status = 401
    code = "payment.notification_invalid"
    message = "The payment notification could not be verified."


class ProviderError(SiyuError):
    """The provider refused a call or could not be reached; safe to retry later."""

    status = 502
    code = "payment.provider_error"
    message = "The payment provider returned an error."


@dataclass(frozen=True)
class PrepayRequest:
    out_trade_no: str  # our payment public id
    amount: int  # fen
    description: str
    expires_at: datetime
    payer_openid: str | None = None  # required by JSAPI / mini-program payments


@dataclass(frozen=True)
class PaymentStart:
    """What the client needs to pay: JSAPI parameters for wx.requestPayment, or the
    sandbox page's URL."""

    client_parameters: dict[str, Any]


@dataclass(frozen=True)
class PaymentNotice:
    """A verified statement from the provider about one payment or refund."""

    provider: str
    notification_id: str  # unique per notification (the provider's id, or a query key)
    kind: str  # "payment" | "refund"
    event_type: str  # e.g. TRANSACTION.SUCCESS, REFUND.SUCCESS
    out_trade_no: str
    succeeded: bool
    amount: int  # payment: payer total in fen; refund: refunded amount in fen
    transaction_id: str | None = None
    payer_openid: str | None = None
    occurred_at: datetime | None = None
    out_refund_no: str | None = None
    refund_id: str | None = None
    # The decrypted resource as received, kept for audit.
    resource: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RefundRequest:
    out_trade_no: str
    out_refund_no: str  # our refund public id: the provider deduplicates on it
    refund_amount: int
    total_amount: int  # the original payment's amount
    reason: str
    transaction_id: str | None = None


@dataclass(frozen=True)
class RefundResult:
    provider_refund_id: str | None
    # "succeeded" (sandbox refunds at once), "processing" (a notification follows),
    # or "failed" (with detail).
    status: str
    detail: str = ""


class PaymentProvider(Protocol):
    name: str

    def start_payment(self, request: PrepayRequest) -> PaymentStart: ...

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> PaymentNotice:
        """Verify and decrypt; raise ``NotificationInvalid`` when it does not verify."""
        ...

    def refund(self, request: RefundRequest) -> RefundResult: ...

    def close(self, out_trade_no: str) -> None:
        """Tell the provider an unpaid payment will not be paid (order cancelled)."""
        ...

    def query(self, out_trade_no: str) -> PaymentNotice | None:
        """Ask the provider about a payment whose notification has not arrived."""
        ...
