"""A fake ``api.weixin.qq.com`` for mini-program sign-in (``/sns/jscode2session``).

Codes registered by a test map to an openid (and a unionid when given); a code works
once (40163 afterwards), an unknown code is 40029, a wrong app id or secret 40013 /
40125, and ``fail`` / ``delay`` script the other answers. Like WeChat, the JSON comes
back labelled ``text/plain``.

Use::

    fake = FakeWechatApi()
    with fake.running():
        settings = Settings(..., **fake.settings_overrides())
        fake.register("code-1", openid="o-1", unionid="u-1")
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from tests.live import serve

MP_APPID = "wx6666666666666666"
MP_SECRET = "mp-secret-0123456789abcdef0123456"


@dataclass(frozen=True)
class Registered:
    openid: str
    unionid: str | None


class FakeWechatApi:
    def __init__(self, *, appid: str = MP_APPID, secret: str = MP_SECRET) -> None:
        self.appid = appid
        self.secret = secret
        self.base_url: str | None = None
        self._lock = threading.Lock()
        self.reset()
        self.app = self._build_app()

    def reset(self) -> None:
        with self._lock:
            self._codes: dict[str, Registered] = {}
            self._used: set[str] = set()
            self._failures: dict[str, tuple[int, str]] = {}
            self._delays: dict[str, float] = {}
            self.calls: list[dict[str, str]] = []

    @contextmanager
    def running(self) -> Iterator[str]:
        with serve(self.app, name="fake-wechat-api") as url:
            self.base_url = url
            try:
                yield url
            finally:
                self.base_url = None

    def settings_overrides(self) -> dict[str, Any]:
        if self.base_url is None:
            raise RuntimeError("start the fake first: `with fake.running():`")
        return {
            "wechat_mp_appid": self.appid,
            "wechat_mp_secret": self.secret,
            "wechat_api_base": self.base_url,
        }

    def register(self, code: str, *, openid: str, unionid: str | None = None) -> None:
        with self._lock:
            self._codes[code] = Registered(openid, unionid)

    def fail(self, code: str, *, errcode: int, errmsg: str = "error") -> None:
        with self._lock:
            self._failures[code] = (errcode, errmsg)

    def delay(self, code: str, seconds: float) -> None:
        with self._lock:
            self._delays[code] = seconds

    def _answer(self, params: dict[str, str]) -> dict[str, Any]:
        code = params.get("js_code", "")
        with self._lock:
            self.calls.append(params)
            if params.get("appid") != self.appid:
                return {"errcode": 40013, "errmsg": "invalid appid"}
            if params.get("secret") != self.secret:
                return {"errcode": 40125, "errmsg": "invalid appsecret"}
            if params.get("grant_type") != "authorization_code":
                return {"errcode": 40002, "errmsg": "invalid grant_type"}
            if code in self._failures:
                errcode, errmsg = self._failures[code]
                return {"errcode": errcode, "errmsg": errmsg}
            if code in self._used:
                return {"errcode": 40163, "errmsg": "code been used"}
            registered = self._codes.get(code)
            if registered is None:
                return {"errcode": 40029, "errmsg": "invalid code"}
            self._used.add(code)
        answer = {"openid": registered.openid, "session_key": secrets.token_urlsafe(16)}
        if registered.unionid is not None:
            answer["unionid"] = registered.unionid
        return answer

    def _build_app(self) -> FastAPI:
        app = FastAPI(title="fake api.weixin.qq.com", openapi_url=None, docs_url=None)

        @app.get("/sns/jscode2session")
        async def jscode2session(request: Request) -> Response:
            params = dict(request.query_params)
            seconds = self._delays.get(params.get("js_code", ""), 0.0)
            if seconds:
                await asyncio.sleep(seconds)
            body = json.dumps(self._answer(params))
            return Response(content=body, media_type="text/plain")

        return app
