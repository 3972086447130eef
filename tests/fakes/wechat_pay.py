"""A fake WeChat Pay API v3 server, in public-key mode (微信支付公钥).

What it does, as WeChat Pay does:

* verifies every merchant request's ``Authorization`` (WECHATPAY2-SHA256-RSA2048,
  signed with the merchant's private key; refused with 401 SIGN_ERROR);
* signs every response with its own platform key (``Wechatpay-Serial`` = its key id);
* implements JSAPI prepay, query by out_trade_no, close, refund create and query,
  keeping orders and refunds in memory;
* sends signed, AES-256-GCM-encrypted notifications (``notify``, ``notify_refund``)
  to any URL, with knobs for the bad cases (tampered body, wrong amount, stale
  timestamp, wrong key id, a repeated notification id).

Use::

    fake = FakeWechatPay()
    with fake.running():
        settings = Settings(..., **fake.settings_overrides(tmp_path, notify_url=url))
        provider = build_wechatpay_provider(settings)
        ...
        fake.notify(url, out_trade_no="P1")            # the shopper paid
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import Response

from siyu.core import clock
from tests.fakes.wechat_pay_protocol import (
    APIV3_KEY,
    APPID,
    MCHID,
    MERCHANT_SERIAL,
    PUBLIC_KEY_ID,
    SIGNATURE_TYPE,
    Delivery,
    FakeOrder,
    FakeRefund,
    RecordedRequest,
    dumps,
    encrypt_resource,
    key_pair,
    private_pem,
    public_pem,
    refund_answer,
    refund_resource,
    rfc3339,
    rsa_verifies,
    signature_headers,
    transaction_resource,
)
from tests.live import serve

# How far a merchant request's timestamp may be from real time (WeChat Pay: 5 min).
# Real time, not siyu's clock: wechatpayv3 stamps requests with time.time().
REQUEST_TOLERANCE_SECONDS = 300
_AUTHORIZATION_FIELD = re.compile(r'(\w+)="([^"]*)"')


class FakeWechatPay:
    def __init__(
        self,
        *,
        mchid: str = MCHID,
        appid: str = APPID,
        apiv3_key: str = APIV3_KEY,
        public_key_id: str = PUBLIC_KEY_ID,
        merchant_serial: str = MERCHANT_SERIAL,
    ) -> None:
        self.mchid = mchid
        self.appid = appid
        self.apiv3_key = apiv3_key
        self.public_key_id = public_key_id
        self.merchant_serial = merchant_serial
        # The merchant's key pair: WeChat Pay knows the public half (from the merchant
        # certificate); the private half goes into the merchant's settings.
        self.merchant_key = key_pair("merchant")
        self.platform_key = key_pair("platform")
        self.base_url: str | None = None
        self.sign_responses = True
        self._lock = threading.Lock()
        self.reset()
        self.app = self._build_app()

    def reset(self) -> None:
        with self._lock:
            self.orders: dict[str, FakeOrder] = {}
            self.refunds: dict[str, FakeRefund] = {}
            self.requests: list[RecordedRequest] = []
            self.deliveries: list[Delivery] = []
            self._errors: list[tuple[int, str, str]] = []
            self.sign_responses = True

    # -- running -------------------------------------------------------------------

    @contextmanager
    def running(self) -> Iterator[str]:
        with serve(self.app, name="fake-wechat-pay") as url:
            self.base_url = url
            try:
                yield url
            finally:
                self.base_url = None

    def settings_overrides(
        self, directory: Path, *, notify_url: str = "https://shop.example.com/notify"
    ) -> dict[str, Any]:
        """Write the merchant's private key and the platform public key into
        ``directory``; return the Settings fields that point siyu at this fake."""
        if self.base_url is None:
            raise RuntimeError("start the fake first: `with fake.running():`")
        directory.mkdir(parents=True, exist_ok=True)
        private_key_path = directory / "apiclient_key.pem"
        public_key_path = directory / "pub_key.pem"
        private_key_path.write_text(private_pem(self.merchant_key))
        public_key_path.write_text(public_pem(self.platform_key))
        return {
            "payment_provider": "wechatpay",
            "wechatpay_mchid": self.mchid,
            "wechatpay_appid": self.appid,
            "wechatpay_apiv3_key": self.apiv3_key,
            "wechatpay_cert_serial_no": self.merchant_serial,
            "wechatpay_private_key_path": private_key_path,
            "wechatpay_public_key_path": public_key_path,
            "wechatpay_public_key_id": self.public_key_id,
            "wechatpay_notify_url": notify_url,
            "wechatpay_api_base": self.base_url,
        }

    def fail_next(
        self, *, status: int = 500, code: str = "SYSTEM_ERROR", message: str = "系统错误"
    ) -> None:
        """The next authenticated API call answers with this error."""
        with self._lock:
            self._errors.append((status, code, message))

    # -- what the shopper does -----------------------------------------------------

    def pay(self, out_trade_no: str, *, amount: int | None = None) -> FakeOrder:
        """The shopper pays (no notification is sent; see ``notify``)."""
        with self._lock:
            order = self.orders[out_trade_no]
            self._mark_paid(order, amount)
            return order

    def _mark_paid(self, order: FakeOrder, amount: int | None) -> None:
        if order.transaction_id is None:
            order.transaction_id = "4200" + secrets.token_hex(12)
            order.success_time = rfc3339(clock.now())
        if order.trade_state in ("NOTPAY", "CLOSED", "SUCCESS"):
            # A payment may land after a close (the shopper's tap raced the cancel).
            order.trade_state = "SUCCESS"
        order.payer_total = order.total if amount is None else amount

    # -- notifications -------------------------------------------------------------

    def payment_notification(
        self,
        *,
        out_trade_no: str,
        amount: int | None = None,
        event: str = "TRANSACTION.SUCCESS",
        notification_id: str | None = None,
        tamper: bool = False,
        serial: str | None = None,
        timestamp: int | None = None,
        apiv3_key: str | None = None,
        total: int | None = None,
    ) -> Delivery:
        """A signed, encrypted payment notification (the order is marked paid).

        ``amount`` overrides what the shopper paid (payer_total); an order the fake
        never saw needs it. ``total`` overrides the order total stated in the
        notification (a mismatch). ``serial``, ``timestamp`` and ``apiv3_key`` forge the
        bad cases.
        """
        with self._lock:
            order = self.orders.get(out_trade_no)
            if order is None:
                if amount is None:
                    raise KeyError(f"unknown order {out_trade_no!r}: pass amount=")
                order = FakeOrder(
                    out_trade_no=out_trade_no,
                    description="",
                    total=amount,
                    payer_openid="o-unknown-payer",
                    notify_url="",
                    time_expire=None,
                    prepay_id="",
                )
            if event == "TRANSACTION.SUCCESS":
                self._mark_paid(order, amount)
            resource = transaction_resource(order, appid=self.appid, mchid=self.mchid)
            if total is not None:
                resource["amount"]["total"] = total
        return self._delivery(
            event,
            "transaction",
            "支付成功",
            resource,
            notification_id=notification_id,
            tamper=tamper,
            serial=serial,
            timestamp=timestamp,
            apiv3_key=apiv3_key,
        )

    def refund_notification(
        self,
        *,
        out_refund_no: str,
        status: str = "SUCCESS",
        notification_id: str | None = None,
        tamper: bool = False,
        serial: str | None = None,
        timestamp: int | None = None,
    ) -> Delivery:
        """REFUND.SUCCESS / REFUND.ABNORMAL / REFUND.CLOSED for a refund made here."""
        with self._lock:
            refund = self.refunds[out_refund_no]
            refund.status = status
            if status == "SUCCESS" and refund.success_time is None:
                refund.success_time = rfc3339(clock.now())
            if status == "CLOSED":
                self.orders[refund.out_trade_no].refunded -= refund.refund
            resource = refund_resource(refund, self.orders[refund.out_trade_no], mchid=self.mchid)
        return self._delivery(
            f"REFUND.{status}",
            "refund",
            "退款成功" if status == "SUCCESS" else "退款异常",
            resource,
            notification_id=notification_id,
            tamper=tamper,
            serial=serial,
            timestamp=timestamp,
        )

    def notify(self, url: str, **options: Any) -> httpx.Response:
        """POST a payment notification (``payment_notification`` options) to ``url``."""
        return self.deliver(url, self.payment_notification(**options))

    def notify_refund(self, url: str, **options: Any) -> httpx.Response:
        """POST a refund notification (``refund_notification`` options) to ``url``."""
        return self.deliver(url, self.refund_notification(**options))

    def deliver(self, url: str, delivery: Delivery) -> httpx.Response:
        with self._lock:
            self.deliveries.append(delivery)
        return httpx.post(url, content=delivery.body, headers=delivery.headers, timeout=10)

    def _delivery(
        self,
        event: str,
        original_type: str,
        summary: str,
        resource: dict[str, Any],
        *,
        notification_id: str | None,
        tamper: bool,
        serial: str | None,
        timestamp: int | None,
        apiv3_key: str | None = None,
    ) -> Delivery:
        envelope = {
            "id": notification_id or str(uuid.uuid4()),
            "create_time": rfc3339(clock.now()),
            "resource_type": "encrypt-resource",
            "event_type": event,
            "summary": summary,
            "resource": encrypt_resource(apiv3_key or self.apiv3_key, original_type, resource),
        }
        body = dumps(envelope)
        headers = signature_headers(
            self.platform_key, serial or self.public_key_id, body, timestamp=timestamp
        )
        if tamper:
            envelope["summary"] = summary + "（已篡改）"
            body = dumps(envelope)
        headers["Content-Type"] = "application/json"
        return Delivery(headers=headers, body=body.encode())

    # -- the HTTP side -------------------------------------------------------------

    def _respond(self, status: int, payload: dict[str, Any] | None = None) -> Response:
        body = "" if payload is None else dumps(payload)
        # With sign_responses off, the signature covers another body: what a response
        # altered on the way would look like.
        signed = body if self.sign_responses else body + " "
        headers = signature_headers(self.platform_key, self.public_key_id, signed)
        return Response(
            content=body.encode(),
            status_code=status,
            headers=headers,
            media_type="application/json" if payload is not None else None,
        )

    def _error(self, status: int, code: str, message: str) -> Response:
        return self._respond(status, {"code": code, "message": message})

    def _authenticate(self, request: Request, body: bytes) -> Response | None:
        scheme, _, parameters = request.headers.get("authorization", "").partition(" ")
        fields = dict(_AUTHORIZATION_FIELD.findall(parameters))
        path = request.scope["raw_path"].decode()
        if request.scope["query_string"]:
            path += "?" + request.scope["query_string"].decode()
        message = (
            f"{request.method}\n{path}\n{fields.get('timestamp', '')}\n"
            f"{fields.get('nonce_str', '')}\n{body.decode()}\n"
        )
        timestamp = fields.get("timestamp", "")
        valid = (
            scheme == SIGNATURE_TYPE
            and fields.get("mchid") == self.mchid
            and fields.get("serial_no") == self.merchant_serial
            and timestamp.isdigit()
            and abs(time.time() - int(timestamp)) <= REQUEST_TOLERANCE_SECONDS
            and rsa_verifies(self.merchant_key.public_key(), message, fields.get("signature", ""))
        )
        if not valid:
            return self._error(401, "SIGN_ERROR", "签名错误")
        with self._lock:
            self.requests.append(
                RecordedRequest(request.method, path, json.loads(body) if body else {})
            )
            if self._errors:
                return self._error(*self._errors.pop(0))
        return None

    def _build_app(self) -> FastAPI:
        app = FastAPI(title="fake WeChat Pay", openapi_url=None, docs_url=None)

        @app.post("/v3/pay/transactions/jsapi")
        async def jsapi_prepay(request: Request) -> Response:
            raw = await request.body()
            refused = self._authenticate(request, raw)
            return refused or self._prepay(json.loads(raw))

        @app.get("/v3/pay/transactions/out-trade-no/{out_trade_no}")
        async def query(request: Request, out_trade_no: str) -> Response:
            refused = self._authenticate(request, b"")
            if refused:
                return refused
            if request.query_params.get("mchid") != self.mchid:
                return self._error(400, "PARAM_ERROR", "mchid 不正确")
            with self._lock:
                order = self.orders.get(out_trade_no)
                if order is None:
                    return self._error(404, "ORDER_NOT_EXIST", "订单不存在")
                return self._respond(
                    200, transaction_resource(order, appid=self.appid, mchid=self.mchid)
                )

        @app.post("/v3/pay/transactions/out-trade-no/{out_trade_no}/close")
        async def close(request: Request, out_trade_no: str) -> Response:
            raw = await request.body()
            refused = self._authenticate(request, raw)
            if refused:
                return refused
            with self._lock:
                order = self.orders.get(out_trade_no)
                if order is None:
                    return self._error(404, "ORDER_NOT_EXIST", "订单不存在")
                if order.trade_state in ("SUCCESS", "REFUND"):
                    return self._error(400, "ORDERPAID", "订单已支付")
                order.trade_state = "CLOSED"
                return self._respond(204)

        @app.post("/v3/refund/domestic/refunds")
        async def refund(request: Request) -> Response:
            raw = await request.body()
            refused = self._authenticate(request, raw)
            return refused or self._refund(json.loads(raw))

        @app.get("/v3/refund/domestic/refunds/{out_refund_no}")
        async def refund_query(request: Request, out_refund_no: str) -> Response:
            refused = self._authenticate(request, b"")
            if refused:
                return refused
            with self._lock:
                found = self.refunds.get(out_refund_no)
                if found is None:
                    return self._error(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
                return self._respond(200, refund_answer(found))

        return app

    def _prepay(self, body: dict[str, Any]) -> Response:
        amount = body.get("amount") or {}
        payer = body.get("payer") or {}
        total = amount.get("total")
        if body.get("appid") != self.appid or body.get("mchid") != self.mchid:
            return self._error(400, "PARAM_ERROR", "appid 与 mchid 不匹配")
        if not (
            body.get("description")
            and body.get("out_trade_no")
            and body.get("notify_url")
            and isinstance(total, int)
            and total > 0
            and payer.get("openid")
        ):
            return self._error(400, "PARAM_ERROR", "参数错误")
        with self._lock:
            existing = self.orders.get(body["out_trade_no"])
            if existing is not None:
                if existing.trade_state in ("SUCCESS", "REFUND"):
                    return self._error(400, "ORDERPAID", "订单已支付")
                if existing.trade_state == "CLOSED":
                    return self._error(400, "ORDER_CLOSED", "订单已关闭")
                if existing.total != total or existing.payer_openid != payer["openid"]:
                    return self._error(400, "OUT_TRADE_NO_USED", "商户订单号重复")
                return self._respond(200, {"prepay_id": existing.prepay_id})
            order = FakeOrder(
                out_trade_no=body["out_trade_no"],
                description=body["description"],
                total=total,
                payer_openid=payer["openid"],
                notify_url=body["notify_url"],
                time_expire=body.get("time_expire"),
                prepay_id="wx" + clock.now().strftime("%d%H%M%S") + secrets.token_hex(10),
            )
            self.orders[order.out_trade_no] = order
            return self._respond(200, {"prepay_id": order.prepay_id})

    def _refund(self, body: dict[str, Any]) -> Response:
        amount = body.get("amount") or {}
        refund_amount, total = amount.get("refund"), amount.get("total")
        out_refund_no = body.get("out_refund_no")
        if not out_refund_no or not isinstance(refund_amount, int) or not isinstance(total, int):
            return self._error(400, "PARAM_ERROR", "参数错误")
        with self._lock:
            order = self.orders.get(body.get("out_trade_no") or "")
            if order is None and body.get("transaction_id"):
                order = next(
                    (o for o in self.orders.values() if o.transaction_id == body["transaction_id"]),
                    None,
                )
            if order is None:
                return self._error(404, "RESOURCE_NOT_EXISTS", "订单不存在")
            existing = self.refunds.get(out_refund_no)
            if existing is not None:
                # WeChat deduplicates on out_refund_no: the same request answers the same.
                if existing.refund != refund_amount or existing.out_trade_no != order.out_trade_no:
                    return self._error(400, "INVALID_REQUEST", "退款单号已用于另一笔退款")
                return self._respond(200, refund_answer(existing))
            if order.trade_state not in ("SUCCESS", "REFUND") or order.transaction_id is None:
                return self._error(400, "INVALID_REQUEST", "订单未支付")
            if total != order.total:
                return self._error(400, "INVALID_REQUEST", "订单金额不一致")
            paid = order.payer_total if order.payer_total is not None else order.total
            if refund_amount <= 0 or order.refunded + refund_amount > paid:
                return self._error(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额")
            created = FakeRefund(
                out_refund_no=out_refund_no,
                refund_id="5030" + secrets.token_hex(12),
                out_trade_no=order.out_trade_no,
                transaction_id=order.transaction_id,
                refund=refund_amount,
                total=total,
                reason=body.get("reason"),
                notify_url=body.get("notify_url"),
                create_time=rfc3339(clock.now()),
            )
            self.refunds[out_refund_no] = created
            order.refunded += refund_amount
            order.trade_state = "REFUND"
            return self._respond(200, refund_answer(created))
