"""``POST /api/payments/{provider}/notify``: where providers tell us what happened.

No session or token: the provider's signature is the authentication. An invalid
signature is 401 (the provider retries; an attacker learns nothing). A verified
notification is acknowledged with 200 whatever its outcome — applied, a duplicate,
or rejected and flagged for an operator — because sending it again would not change
the outcome.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from siyu.core.errors import NotFound
from siyu.core.http import TransactionsDep
from siyu.orders.payments import registry
from siyu.orders.payments import service as payment_service

router = APIRouter(tags=["payments"])


class NotifyAck(BaseModel):
    code: str
    message: str
    outcome: str


class UnknownProvider(NotFound):
    code = "payment.unknown_provider"
    message = "No such payment provider."


@router.post("/api/payments/{provider}/notify", response_model=NotifyAck)
async def provider_notification(
    provider: str, request: Request, transactions: TransactionsDep
) -> NotifyAck:
    if provider not in registry.PROVIDER_NAMES:
        raise UnknownProvider(data={"provider": provider})
    body = await request.body()
    headers = dict(request.headers)
    settings = request.app.state.settings

    def apply() -> str:
        # Verification happens before any transaction: a forged request costs no lock.
        notice = registry.provider_for(provider, settings).parse_notification(headers, body)
        with transactions() as session:
            return payment_service.apply_notice(session, notice).value

    outcome = await run_in_threadpool(apply)
    return NotifyAck(code="SUCCESS", message="成功", outcome=outcome)
