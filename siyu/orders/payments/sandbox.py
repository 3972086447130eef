"""The sandbox payment provider: the embedded default, for demos and testers.

Paying happens on a storefront page (``/shop/pay/<out_trade_no>``) whose button asks
siyu to confirm the payment; refunds succeed at once. Its notifications are signed
with an HMAC of the app's secret key so that the notification route treats them like
a real provider's: verified first, then applied once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from datetime import datetime

from siyu.core import clock
from siyu.orders.payments.provider import (
    NotificationInvalid,
    PaymentNotice,
    PaymentStart,
    PrepayRequest,
    RefundRequest,
    RefundResult,
)

NAME = "sandbox"
SIGNATURE_HEADER = "X-Sandbox-Signature"


class SandboxProvider:
    name = NAME

    def __init__(self, secret_key: str) -> None:
        self._key = hashlib.sha256(b"siyu.sandbox.pay\x00" + secret_key.encode()).digest()

    def start_payment(self, request: PrepayRequest) -> PaymentStart:
        return PaymentStart(
            {
                "provider": NAME,
                "pay_url": f"/shop/pay/{request.out_trade_no}",
                "amount": request.amount,
                "expires_at": request.expires_at.isoformat(),
            }
        )

    def sign(self, body: bytes) -> str:
        return hmac.new(self._key, body, hashlib.sha256).hexdigest()

    def notification(
        self,
        *,
        out_trade_no: str,
        amount: int,
        notification_id: str | None = None,
        kind: str = "payment",
        out_refund_no: str | None = None,
    ) -> tuple[dict[str, str], bytes]:
        """Headers and body of a signed sandbox notification (the pay page and tests)."""
        body = json.dumps(
            {
                "id": notification_id or f"sbx_{secrets.token_hex(8)}",
                "kind": kind,
                "out_trade_no": out_trade_no,
                "out_refund_no": out_refund_no,
                "amount": amount,
                "transaction_id": f"sbx_tx_{out_trade_no}",
                "occurred_at": clock.now().isoformat(),
            },
            separators=(",", ":"),
        ).encode()
        return {SIGNATURE_HEADER: self.sign(body)}, body

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> PaymentNotice:
        given = headers.get(SIGNATURE_HEADER) or headers.get(SIGNATURE_HEADER.lower()) or ""
        if not hmac.compare_digest(given, self.sign(body)):
            raise NotificationInvalid()
        try:
            data = json.loads(body)
            kind = str(data["kind"])
            amount = int(data["amount"])
            notification_id = str(data["id"])
            out_trade_no = str(data["out_trade_no"])
            occurred_at = datetime.fromisoformat(str(data["occurred_at"]))
        except (ValueError, KeyError, TypeError) as error:
            raise NotificationInvalid("The notification body is malformed.") from error
        if kind not in ("payment", "refund"):
            raise NotificationInvalid("Unknown notification kind.")
        return PaymentNotice(
            provider=NAME,
            notification_id=notification_id,
            kind=kind,
            event_type="TRANSACTION.SUCCESS" if kind == "payment" else "REFUND.SUCCESS",
            out_trade_no=out_trade_no,
            succeeded=True,
            amount=amount,
            transaction_id=str(data.get("transaction_id") or ""),
            occurred_at=occurred_at,
            out_refund_no=data.get("out_refund_no"),
            refund_id=f"sbx_rf_{data.get('out_refund_no')}" if kind == "refund" else None,
            resource=data,
        )

    def refund(self, request: RefundRequest) -> RefundResult:
        return RefundResult(
            provider_refund_id=f"sbx_rf_{request.out_refund_no}", status="succeeded"
        )

    def close(self, out_trade_no: str) -> None:
        return None

    def query(self, out_trade_no: str) -> PaymentNotice | None:
        return None
