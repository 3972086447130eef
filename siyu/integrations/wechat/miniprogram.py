"""Mini-program sign-in: exchange a ``wx.login`` code for the shopper's openid.

``GET /sns/jscode2session`` answers with the openid (per mini program), the unionid
when the mini program is bound to an Open Platform account (it may be missing) and a
``session_key``. siyu needs no session key (it decrypts nothing from the mini program),
so it is never logged, stored or returned; it stays out of ``repr`` in case a result
is ever printed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import httpx

from siyu.core.errors import SiyuError
from siyu.core.settings import Settings
from siyu.integrations.wechat.errors import (
    WechatBusy,
    WechatCodeInvalid,
    WechatCodeUsed,
    WechatError,
    WechatNotConfigured,
    WechatRateLimited,
    WechatUnavailable,
    WechatUserHighRisk,
)

logger = logging.getLogger("siyu.wechat")

REQUEST_TIMEOUT_SECONDS = 5.0
# WeChat's errcodes for jscode2session, mapped to what the storefront can act on.
ERRORS: dict[int, type[SiyuError]] = {
    40029: WechatCodeInvalid,
    40163: WechatCodeUsed,
    45011: WechatRateLimited,
    40226: WechatUserHighRisk,
    -1: WechatBusy,
}


@dataclass(frozen=True)
class Code2SessionResult:
    openid: str
    unionid: str | None
    session_key: str = field(repr=False)


def code2session(
    settings: Settings, code: str, *, timeout: float = REQUEST_TIMEOUT_SECONDS
) -> Code2SessionResult:
    """Ask WeChat who ``code`` belongs to; raises a ``SiyuError`` with a stable code."""
    if not settings.wechat_mp_appid or not settings.wechat_mp_secret:
        raise WechatNotConfigured(
            data={"missing": ["SIYU_WECHAT_MP_APPID", "SIYU_WECHAT_MP_SECRET"]}
        )
    try:
        response = httpx.get(
            f"{settings.wechat_api_base.rstrip('/')}/sns/jscode2session",
            params={
                "appid": settings.wechat_mp_appid,
                "secret": settings.wechat_mp_secret,
                "js_code": code,
                "grant_type": "authorization_code",
            },
            timeout=timeout,
        )
    except httpx.HTTPError as error:
        # The URL carries the app secret: log the kind of failure, never the request.
        logger.warning("jscode2session failed: %s", type(error).__name__)
        raise WechatUnavailable(data={"reason": type(error).__name__}) from error
    try:
        # WeChat labels this JSON as text/plain; parse the text whatever the header says.
        payload = response.json()
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise WechatError(data={"http_status": response.status_code})
    errcode = payload.get("errcode") or 0
    if errcode != 0:
        error_class = ERRORS.get(errcode, WechatError) if isinstance(errcode, int) else WechatError
        raise error_class(data={"errcode": errcode, "errmsg": str(payload.get("errmsg", ""))[:200]})
    openid = payload.get("openid")
    session_key = payload.get("session_key")
    if not isinstance(openid, str) or not openid or not isinstance(session_key, str):
        raise WechatError(data={"reason": "no openid in the answer"})
    unionid = payload.get("unionid")
    return Code2SessionResult(
        openid=openid,
        unionid=unionid if isinstance(unionid, str) and unionid else None,
        session_key=session_key,
    )
