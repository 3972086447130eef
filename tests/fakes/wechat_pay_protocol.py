"""WeChat Pay v3 protocol pieces for the fake server: keys, signatures, records and
the JSON resources WeChat Pay sends (transactions, refunds)."""

from __future__ import annotations

import functools
import json
import secrets
from base64 import b64decode, b64encode
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from siyu.core import clock

MCHID = "1900000109"
APPID = "wx8888888888888888"
APIV3_KEY = "a7Kq2ZtP9xLm4Rv8Nc3Bw6Hy1Jd5Fg0S"  # 32 bytes: AES-256
PUBLIC_KEY_ID = "PUB_KEY_ID_0119000001092026112200000001"
MERCHANT_SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
CHINA_STANDARD_TIME = timezone(timedelta(hours=8))


@functools.lru_cache(maxsize=4)
def key_pair(name: str) -> rsa.RSAPrivateKey:
    """One RSA-2048 key per name and test process: generating one costs ~0.1 s."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def rsa_sign(key: rsa.RSAPrivateKey, message: str) -> str:
    return b64encode(key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa_verifies(key: rsa.RSAPublicKey, message: str, signature: str) -> bool:
    try:
        key.verify(b64decode(signature), message.encode(), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(CHINA_STANDARD_TIME).isoformat(timespec="seconds")


@dataclass
class FakeOrder:
    out_trade_no: str
    description: str
    total: int
    payer_openid: str
    notify_url: str
    time_expire: str | None
    prepay_id: str
    trade_state: str = "NOTPAY"
    transaction_id: str | None = None
    payer_total: int | None = None
    success_time: str | None = None
    refunded: int = 0


@dataclass
class FakeRefund:
    out_refund_no: str
    refund_id: str
    out_trade_no: str
    transaction_id: str
    refund: int
    total: int
    reason: str | None
    notify_url: str | None
    create_time: str
    status: str = "PROCESSING"
    success_time: str | None = None


@dataclass
class Delivery:
    """A notification as sent: POST it again to deliver it twice."""

    headers: dict[str, str]
    body: bytes


@dataclass
class RecordedRequest:
    method: str
    path: str
    body: dict[str, Any] = field(default_factory=dict)


def dumps(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def signature_headers(
    key: rsa.RSAPrivateKey, key_id: str, body: str, *, timestamp: int | None = None
) -> dict[str, str]:
    """The Wechatpay-* headers of a response or notification signed with ``key``."""
    stamp = str(int(clock.now().timestamp()) if timestamp is None else timestamp)
    nonce = secrets.token_hex(16).upper()
    return {
        "Wechatpay-Serial": key_id,
        "Wechatpay-Timestamp": stamp,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": rsa_sign(key, f"{stamp}\n{nonce}\n{body}\n"),
        "Wechatpay-Signature-Type": SIGNATURE_TYPE,
    }


def encrypt_resource(
    apiv3_key: str, original_type: str, resource: dict[str, Any]
) -> dict[str, str]:
    """AEAD_AES_256_GCM with the APIv3 key, as in a notification's ``resource``."""
    nonce = secrets.token_hex(6)  # 12 characters: the nonce length WeChat Pay uses
    ciphertext = AESGCM(apiv3_key.encode()).encrypt(
        nonce.encode(), dumps(resource).encode(), original_type.encode()
    )
    return {
        "original_type": original_type,
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": b64encode(ciphertext).decode(),
        "associated_data": original_type,
        "nonce": nonce,
    }


def transaction_resource(order: FakeOrder, *, appid: str, mchid: str) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "appid": appid,
        "mchid": mchid,
        "out_trade_no": order.out_trade_no,
        "trade_type": "JSAPI",
        "trade_state": order.trade_state,
        "trade_state_desc": {"SUCCESS": "支付成功", "CLOSED": "已关闭"}.get(
            order.trade_state, "订单未支付"
        ),
        "attach": "",
        "payer": {"openid": order.payer_openid},
        "amount": {"total": order.total, "currency": "CNY"},
    }
    if order.transaction_id is not None:
        resource |= {
            "transaction_id": order.transaction_id,
            "bank_type": "OTHERS",
            "success_time": order.success_time,
        }
        resource["amount"] |= {
            "payer_total": order.payer_total,
            "payer_currency": "CNY",
        }
    return resource


def refund_resource(refund: FakeRefund, order: FakeOrder, *, mchid: str) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "mchid": mchid,
        "out_trade_no": refund.out_trade_no,
        "transaction_id": refund.transaction_id,
        "out_refund_no": refund.out_refund_no,
        "refund_id": refund.refund_id,
        "refund_status": refund.status,
        "user_received_account": "支付用户零钱",
        "amount": {
            "total": refund.total,
            "refund": refund.refund,
            "payer_total": order.payer_total,
            "payer_refund": refund.refund,
        },
    }
    if refund.success_time:
        resource["success_time"] = refund.success_time
    return resource


def refund_answer(refund: FakeRefund) -> dict[str, Any]:
    return {
        "refund_id": refund.refund_id,
        "out_refund_no": refund.out_refund_no,
        "transaction_id": refund.transaction_id,
        "out_trade_no": refund.out_trade_no,
        "channel": "ORIGINAL",
        "user_received_account": "支付用户零钱",
        "create_time": refund.create_time,
        "success_time": refund.success_time,
        "status": refund.status,
        "funds_account": "AVAILABLE",
        "amount": {
            "total": refund.total,
            "refund": refund.refund,
            "payer_total": refund.total,
            "payer_refund": refund.refund,
            "settlement_total": refund.total,
            "settlement_refund": refund.refund,
            "discount_refund": 0,
            "currency": "CNY",
        },
    }
