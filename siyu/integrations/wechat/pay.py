"""WeChat Pay API v3 for mini-program (JSAPI) payments, through ``wechatpayv3``.

Direct-merchant mode with WeChat Pay's *public key* (微信支付公钥) rather than
downloaded platform certificates: responses and notifications are signed with the
platform key whose id we are given, so nothing is fetched at start-up.

* ``start_payment`` creates a JSAPI prepay order and returns the parameters the mini
  program passes to ``wx.requestPayment`` (signed with the merchant key).
* ``parse_notification`` verifies the signature (key id, timestamp window, RSA),
  decrypts the AES-256-GCM resource with the APIv3 key and maps it to a
  ``PaymentNotice`` (amounts in fen).
* ``refund``, ``close`` and ``query`` are the plain API calls.

Every failure of a call to WeChat Pay becomes ``ProviderError`` with WeChat's own
error code in ``data["wechat_code"]`` (None when the network failed) and
``data["retryable"]``.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from wechatpayv3 import WeChatPay, WeChatPayType  # type: ignore[import-untyped]
from wechatpayv3.utils import rsa_verify  # type: ignore[import-untyped]

from siyu.core import clock
from siyu.core.errors import ConfigurationError
from siyu.core.settings import Settings
from siyu.integrations.wechat.errors import NotificationUnsupported, PayerOpenidRequired
from siyu.orders.payments.provider import (
    NotificationInvalid,
    PaymentNotice,
    PaymentStart,
    PrepayRequest,
    ProviderError,
    RefundRequest,
    RefundResult,
)

PROVIDER_NAME = "wechatpay"
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
# WeChat Pay's own guidance: refuse notifications whose timestamp is more than five
# minutes off, so a captured notification cannot be replayed later.
NOTIFICATION_TOLERANCE = timedelta(minutes=5)
# WeChat Pay writes and reads times as RFC 3339 in China Standard Time.
CHINA_STANDARD_TIME = timezone(timedelta(hours=8), "CST")
DESCRIPTION_MAX_LENGTH = 127
REFUND_REASON_MAX_LENGTH = 80
# (connect, read) seconds, handed to requests by the library.
DEFAULT_TIMEOUT = (5.0, 15.0)
# Error codes WeChat Pay documents as temporary.
RETRYABLE_CODES = frozenset({"SYSTEM_ERROR", "SYSTEMERROR", "FREQUENCY_LIMITED", "BANK_ERROR"})
# A payment still open at WeChat: a query has nothing to report yet.
OPEN_TRADE_STATES = frozenset({"NOTPAY", "USERPAYING"})
# Paid (REFUND: paid, then refunded in part or whole).
PAID_TRADE_STATES = frozenset({"SUCCESS", "REFUND"})
REFUND_STATUSES = {"SUCCESS": "succeeded", "PROCESSING": "processing"}
REQUIRED_SETTINGS = (
    "wechatpay_mchid",
    "wechatpay_apiv3_key",
    "wechatpay_cert_serial_no",
    "wechatpay_private_key_path",
    "wechatpay_public_key_path",
    "wechatpay_public_key_id",
    "wechatpay_notify_url",
)


def _invalid(reason: str) -> NotificationInvalid:
    return NotificationInvalid(data={"reason": reason})


def _parse_time(raw: Any) -> datetime | None:
    if not isinstance(raw, str) or not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CHINA_STANDARD_TIME)
    return moment.astimezone(UTC)


def _rfc3339(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(CHINA_STANDARD_TIME).isoformat(timespec="seconds")


def _as_json(body: Any) -> dict[str, Any]:
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    if not body:
        return {}
    try:
        parsed = json.loads(body)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _fen(container: Any, key: str) -> int:
    value = container.get(key) if isinstance(container, dict) else None
    if not isinstance(value, int) or isinstance(value, bool):
        raise _invalid(f"amount.{key}")
    return value


class WechatPayProvider:
    """``PaymentProvider`` for WeChat Pay API v3, mini-program (JSAPI) payments."""

    name = PROVIDER_NAME

    def __init__(
        self,
        *,
        mchid: str,
        appid: str,
        apiv3_key: str,
        cert_serial_no: str,
        private_key_pem: str,
        public_key_pem: str,
        public_key_id: str,
        notify_url: str,
        api_base: str = "https://api.mch.weixin.qq.com",
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        self._mchid = mchid
        self._appid = appid
        self._public_key_id = public_key_id
        public_key = load_pem_public_key(public_key_pem.encode("utf-8"))
        if not isinstance(public_key, RSAPublicKey):
            raise ConfigurationError("The WeChat Pay public key must be an RSA key.")
        self._public_key = public_key
        # With public_key and public_key_id given, the library never downloads platform
        # certificates (it would at construction otherwise).
        self._client: Any = WeChatPay(
            wechatpay_type=WeChatPayType.MINIPROG,
            mchid=mchid,
            private_key=private_key_pem,
            cert_serial_no=cert_serial_no,
            appid=appid,
            apiv3_key=apiv3_key,
            notify_url=notify_url,
            timeout=timeout,
            public_key=public_key_pem,
            public_key_id=public_key_id,
        )
        # wechatpayv3 has no gateway parameter: Core.__init__ hard-codes
        # https://api.mch.weixin.qq.com into ``_gate_way`` and every request is sent to
        # ``_gate_way + path``. The request signature covers only the path, so pointing
        # the attribute elsewhere (the fake server in tests, an egress proxy) changes
        # nothing else. Pinned library version: 2.0.4.
        self._client._core._gate_way = api_base.rstrip("/")

    # -- calls ---------------------------------------------------------------------

    def _call(
        self, operation: str, function: Callable[..., tuple[int, Any]], **arguments: Any
    ) -> tuple[int, dict[str, Any]]:
        try:
            status, body = function(**arguments)
        except OSError as error:
            # requests' exceptions (timeouts, refused connections) derive from IOError.
            raise ProviderError(
                "WeChat Pay could not be reached.",
                data={
                    "operation": operation,
                    "wechat_code": None,
                    "retryable": True,
                    "reason": type(error).__name__,
                },
            ) from error
        except Exception as error:
            # The library reports everything else with a bare Exception, notably a
            # response whose signature does not verify.
            raise ProviderError(
                "WeChat Pay's answer could not be used.",
                data={
                    "operation": operation,
                    "wechat_code": None,
                    "retryable": False,
                    "reason": str(error)[:200],
                },
            ) from error
        parsed = _as_json(body)
        if status >= 400:
            code = parsed.get("code") if isinstance(parsed.get("code"), str) else None
            message = str(parsed.get("message") or f"HTTP {status}")[:200]
            raise ProviderError(
                f"WeChat Pay refused the {operation}: {message}",
                data={
                    "operation": operation,
                    "http_status": status,
                    "wechat_code": code,
                    "wechat_message": message,
                    "retryable": status >= 500 or status == 429 or code in RETRYABLE_CODES,
                },
            )
        return status, parsed

    def start_payment(self, request: PrepayRequest) -> PaymentStart:
        if not request.payer_openid:
            raise PayerOpenidRequired()
        _status, body = self._call(
            "prepay",
            self._client.pay,
            description=(request.description or request.out_trade_no)[:DESCRIPTION_MAX_LENGTH],
            out_trade_no=request.out_trade_no,
            amount={"total": request.amount, "currency": "CNY"},
            payer={"openid": request.payer_openid},
            time_expire=_rfc3339(request.expires_at),
            pay_type=WeChatPayType.MINIPROG,
        )
        prepay_id = body.get("prepay_id")
        if not isinstance(prepay_id, str) or not prepay_id:
            raise ProviderError(
                "WeChat Pay returned no prepay id.",
                data={"operation": "prepay", "wechat_code": None, "retryable": True},
            )
        timestamp = str(int(clock.now().timestamp()))
        nonce = secrets.token_hex(16)
        package = f"prepay_id={prepay_id}"
        # wx.requestPayment's paySign: RSA-SHA256 over appId, timeStamp, nonceStr and
        # package, one per line, with the merchant's private key.
        pay_sign = self._client.sign([self._appid, timestamp, nonce, package])
        return PaymentStart(
            client_parameters={
                "appId": self._appid,
                "timeStamp": timestamp,
                "nonceStr": nonce,
                "package": package,
                "signType": "RSA",
                "paySign": pay_sign,
            }
        )

    def refund(self, request: RefundRequest) -> RefundResult:
        _status, body = self._call(
            "refund",
            self._client.refund,
            out_refund_no=request.out_refund_no,
            amount={
                "refund": request.refund_amount,
                "total": request.total_amount,
                "currency": "CNY",
            },
            transaction_id=request.transaction_id,
            out_trade_no=request.out_trade_no,
            reason=request.reason[:REFUND_REASON_MAX_LENGTH] or None,
        )
        refund_id = body.get("refund_id")
        raw_status = str(body.get("status") or "")
        status = REFUND_STATUSES.get(raw_status, "failed")
        return RefundResult(
            provider_refund_id=refund_id if isinstance(refund_id, str) else None,
            status=status,
            detail="" if status != "failed" else f"WeChat Pay refund status {raw_status!r}",
        )

    def close(self, out_trade_no: str) -> None:
        try:
            self._call("close", self._client.close, out_trade_no=out_trade_no)
        except ProviderError as error:
            # Never prepaid at WeChat (the shopper did not get as far as paying):
            # there is nothing to close.
            if error.data.get("wechat_code") != "ORDER_NOT_EXIST":
                raise

    def query(self, out_trade_no: str) -> PaymentNotice | None:
        try:
            _status, body = self._call("query", self._client.query, out_trade_no=out_trade_no)
        except ProviderError as error:
            if error.data.get("wechat_code") == "ORDER_NOT_EXIST":
                return None
            raise
        trade_state = str(body.get("trade_state") or "")
        if trade_state in OPEN_TRADE_STATES or not trade_state:
            return None
        transaction_id = body.get("transaction_id")
        payer = _mapping(body.get("payer"))
        amount = _mapping(body.get("amount"))
        paid = trade_state in PAID_TRADE_STATES
        return PaymentNotice(
            provider=PROVIDER_NAME,
            # No notification id exists for a query: key it by what it states.
            notification_id=f"query:{transaction_id or out_trade_no}:{trade_state}",
            kind="payment",
            event_type=f"TRANSACTION.{trade_state}",
            out_trade_no=str(body.get("out_trade_no") or out_trade_no),
            succeeded=paid,
            amount=int(amount.get("total") or 0) if paid else 0,
            transaction_id=transaction_id if isinstance(transaction_id, str) else None,
            payer_openid=payer.get("openid"),
            occurred_at=_parse_time(body.get("success_time")),
            resource=body,
        )

    # -- notifications -------------------------------------------------------------

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> PaymentNotice:
        lowered = {key.lower(): value for key, value in headers.items()}
        if lowered.get("wechatpay-signature-type", SIGNATURE_TYPE) != SIGNATURE_TYPE:
            raise _invalid("signature_type")
        # Checked before the library sees the headers: for a serial it does not know,
        # wechatpayv3 would go and download platform certificates (a network call from
        # a notification handler, in a mode siyu does not use).
        if lowered.get("wechatpay-serial") != self._public_key_id:
            raise _invalid("serial")
        signature = lowered.get("wechatpay-signature", "")
        nonce = lowered.get("wechatpay-nonce", "")
        raw_timestamp = lowered.get("wechatpay-timestamp", "")
        if not (signature and nonce and raw_timestamp.isdigit()):
            raise _invalid("headers")
        sent_at = datetime.fromtimestamp(int(raw_timestamp), UTC)
        if abs(clock.now() - sent_at) > NOTIFICATION_TOLERANCE:
            raise _invalid("timestamp")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise _invalid("encoding") from error
        if not rsa_verify(raw_timestamp, nonce, text, signature, self._public_key):
            raise _invalid("signature")
        try:
            # Verifies the signature again and decrypts the AES-256-GCM resource.
            envelope = self._client.callback(lowered, text)
        except Exception as error:
            # Bare Exception for an unsupported algorithm; ValueError for broken JSON.
            raise _invalid("decryption") from error
        if not isinstance(envelope, dict) or not isinstance(envelope.get("resource"), dict):
            raise _invalid("decryption")
        return self._notice(envelope)

    def _notice(self, envelope: dict[str, Any]) -> PaymentNotice:
        resource: dict[str, Any] = envelope["resource"]
        event_type = str(envelope.get("event_type") or "")
        notification_id = envelope.get("id")
        if not isinstance(notification_id, str) or not notification_id:
            raise _invalid("id")
        # A notification meant for another merchant (a shared notify URL) is not ours.
        if resource.get("mchid") not in (None, self._mchid):
            raise _invalid("merchant")
        out_trade_no = resource.get("out_trade_no")
        if not isinstance(out_trade_no, str) or not out_trade_no:
            raise _invalid("out_trade_no")
        transaction_id = resource.get("transaction_id")
        transaction_id = transaction_id if isinstance(transaction_id, str) else None
        if event_type.startswith("TRANSACTION."):
            if resource.get("appid") not in (None, self._appid):
                raise _invalid("appid")
            payer = _mapping(resource.get("payer"))
            return PaymentNotice(
                provider=PROVIDER_NAME,
                notification_id=notification_id,
                kind="payment",
                event_type=event_type,
                out_trade_no=out_trade_no,
                succeeded=resource.get("trade_state") == "SUCCESS",
                # The order total we asked for. payer_total (what the shopper paid) is
                # less when WeChat-funded vouchers applied; that is not a mismatch,
                # and it stays in ``resource`` for reconciliation.
                amount=_fen(resource.get("amount"), "total"),
                transaction_id=transaction_id,
                payer_openid=payer.get("openid"),
                occurred_at=_parse_time(resource.get("success_time")),
                resource=resource,
            )
        if event_type.startswith("REFUND."):
            out_refund_no = resource.get("out_refund_no")
            if not isinstance(out_refund_no, str) or not out_refund_no:
                raise _invalid("out_refund_no")
            refund_id = resource.get("refund_id")
            return PaymentNotice(
                provider=PROVIDER_NAME,
                notification_id=notification_id,
                kind="refund",
                event_type=event_type,
                out_trade_no=out_trade_no,
                succeeded=resource.get("refund_status") == "SUCCESS",
                amount=_fen(resource.get("amount"), "refund"),
                transaction_id=transaction_id,
                occurred_at=_parse_time(resource.get("success_time"))
                or _parse_time(envelope.get("create_time")),
                out_refund_no=out_refund_no,
                refund_id=refund_id if isinstance(refund_id, str) else None,
                resource=resource,
            )
        raise NotificationUnsupported(data={"event_type": event_type[:64]})


def _read(path: Path, setting: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigurationError(f"SIYU_{setting.upper()}: cannot read {path}: {error}") from error


def build_wechatpay_provider(settings: Settings) -> WechatPayProvider:
    """The provider from settings; ``ConfigurationError`` names every missing setting.

    The app id is ``wechatpay_appid``, or the mini program's ``wechat_mp_appid`` when
    it is not set (the usual case: the mini program is the app that pays).
    """
    appid = settings.wechatpay_appid or settings.wechat_mp_appid
    missing = [name for name in REQUIRED_SETTINGS if not getattr(settings, name)]
    if not appid:
        missing.insert(1, "wechatpay_appid")
    if missing or not appid:
        names = ", ".join(f"SIYU_{name.upper()}" for name in missing)
        raise ConfigurationError(f"WeChat Pay is missing settings: {names}")
    assert settings.wechatpay_apiv3_key is not None
    assert settings.wechatpay_private_key_path is not None
    assert settings.wechatpay_public_key_path is not None
    if len(settings.wechatpay_apiv3_key.encode("utf-8")) != 32:
        raise ConfigurationError("SIYU_WECHATPAY_APIV3_KEY must be 32 bytes (AES-256).")
    private_key_pem = _read(settings.wechatpay_private_key_path, "wechatpay_private_key_path")
    public_key_pem = _read(settings.wechatpay_public_key_path, "wechatpay_public_key_path")
    try:
        return WechatPayProvider(
            mchid=str(settings.wechatpay_mchid),
            appid=appid,
            apiv3_key=settings.wechatpay_apiv3_key,
            cert_serial_no=str(settings.wechatpay_cert_serial_no),
            private_key_pem=private_key_pem,
            public_key_pem=public_key_pem,
            public_key_id=str(settings.wechatpay_public_key_id),
            notify_url=str(settings.wechatpay_notify_url),
            api_base=settings.wechatpay_api_base,
        )
    except ConfigurationError:
        raise
    except Exception as error:
        # The library raises a bare Exception for a key it cannot load.
        raise ConfigurationError(f"WeChat Pay keys could not be loaded: {error}") from error
