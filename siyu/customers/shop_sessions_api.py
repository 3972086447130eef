"""Storefront sign-in: ``/api/shop/v1/sessions``.

* ``POST /sessions/wechat`` {code, anonymous_id?} — the mini program's ``wx.login``
  code goes to WeChat (code2session); the openid (namespace: the mini program's app
  id), the unionid when WeChat gives one and the device's anonymous id (to stitch its
  earlier browsing) are resolved to one customer, who gets a session token.
* ``POST /sessions/demo`` {shopper} — the embedded demo's sign-in without WeChat,
  only when ``SIYU_SHOP_DEMO_LOGIN`` is on (404 otherwise): identity ``external`` in
  namespace ``demo``.
* ``DELETE /sessions/current`` — signs out (the session row is deleted).

The callers are not staff: identify runs with no actor (``actor=None``), so no
caller scope applies and merges are recorded as the system. Both sign-ins are
rate-limited per IP before anything else happens, and WeChat is asked before the
database is touched, so no transaction is held open across the call.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import delete
from sqlalchemy.orm import Session

from siyu.core.crypto import PiiCipher
from siyu.core.errors import NotFound, TooManyRequests
from siyu.core.http import PiiDep, SessionDep, SettingsDep, client_ip
from siyu.customers import identify, sessions
from siyu.integrations.wechat import miniprogram
from siyu.models.customer import CustomerSession, IdentityKind

router = APIRouter(prefix="/api/shop/v1/sessions", tags=["storefront"])

# Per IP and minute, both sign-in routes together: generous for a shop behind a
# carrier NAT, tight enough that guessing codes or shopper names is pointless.
SIGN_IN_REQUESTS_PER_MINUTE = 30
DEMO_NAMESPACE = "demo"
WECHAT_TOUCHPOINT = "mp"
DEMO_TOUCHPOINT = "h5"


class SignInRateLimited(TooManyRequests):
    code = "customer.sign_in_rate_limited"
    message = "Too many sign-in attempts from this address; try again later."


class DemoLoginDisabled(NotFound):
    code = "customer.demo_login_disabled"
    message = "Demo sign-in is not enabled on this server."


class WechatSignInIn(BaseModel):
    code: str = Field(min_length=1, max_length=128, description="From wx.login().")
    anonymous_id: str | None = Field(default=None, min_length=1, max_length=128)


class DemoSignInIn(BaseModel):
    shopper: str = Field(pattern=r"^[a-z0-9_-]{1,32}$")
    anonymous_id: str | None = Field(default=None, min_length=1, max_length=128)


class ShopSessionOut(BaseModel):
    token: str = Field(description="Shown once; siyu keeps only its hash.")
    customer_id: int
    expires_at: datetime


def _limit(request: Request) -> None:
    decision = request.app.state.rate_limiter.hit(
        f"shop-sign-in:{client_ip(request) or 'unknown'}",
        limit=SIGN_IN_REQUESTS_PER_MINUTE,
        window_seconds=60,
    )
    if not decision.allowed:
        raise SignInRateLimited(data={"retry_after_seconds": decision.retry_after_seconds})


def _demo_login_enabled(settings: SettingsDep) -> None:
    # A dependency, so it runs before the body is validated: with demo sign-in off the
    # route answers 404 whatever is sent, as if it did not exist.
    if not settings.shop_demo_login:
        raise DemoLoginDisabled()


def _anonymous(anonymous_id: str | None) -> list[identify.IdentityInput]:
    if anonymous_id is None:
        return []
    return [identify.IdentityInput(kind=IdentityKind.ANONYMOUS_ID.value, value=anonymous_id)]


def _sign_in(
    session: Session,
    cipher: PiiCipher,
    identities: list[identify.IdentityInput],
    *,
    touchpoint: str,
    source: str,
) -> ShopSessionOut:
    resolution = identify.identify(session, cipher, None, identities, None, source=source)
    raw, record = sessions.create_session(
        session, customer_id=resolution.customer_id, touchpoint=touchpoint
    )
    return ShopSessionOut(
        token=raw, customer_id=resolution.customer_id, expires_at=record.expires_at
    )


@router.post("/wechat", response_model=ShopSessionOut)
def sign_in_with_wechat(
    body: WechatSignInIn,
    request: Request,
    session: SessionDep,
    cipher: PiiDep,
    settings: SettingsDep,
) -> ShopSessionOut:
    _limit(request)
    # Before any database work: no transaction is open while WeChat answers.
    result = miniprogram.code2session(settings, body.code)
    assert settings.wechat_mp_appid is not None  # code2session refuses otherwise
    identities = [
        identify.IdentityInput(
            kind=IdentityKind.MP_OPENID.value,
            value=result.openid,
            namespace=settings.wechat_mp_appid,
        )
    ]
    if result.unionid:
        identities.append(
            identify.IdentityInput(kind=IdentityKind.UNIONID.value, value=result.unionid)
        )
    return _sign_in(
        session,
        cipher,
        identities + _anonymous(body.anonymous_id),
        touchpoint=WECHAT_TOUCHPOINT,
        source="shop_sign_in:wechat",
    )


@router.post("/demo", response_model=ShopSessionOut, dependencies=[Depends(_demo_login_enabled)])
def sign_in_for_demo(
    body: DemoSignInIn, request: Request, session: SessionDep, cipher: PiiDep
) -> ShopSessionOut:
    _limit(request)
    identity = identify.IdentityInput(
        kind=IdentityKind.EXTERNAL.value, value=body.shopper, namespace=DEMO_NAMESPACE
    )
    return _sign_in(
        session,
        cipher,
        [identity, *_anonymous(body.anonymous_id)],
        touchpoint=DEMO_TOUCHPOINT,
        source="shop_sign_in:demo",
    )


@router.delete("/current", status_code=204, response_class=Response)
def sign_out(customer: sessions.CurrentCustomer, session: SessionDep) -> Response:
    session.execute(delete(CustomerSession).where(CustomerSession.id == customer.session_id))
    return Response(status_code=204)
