"""Share links: the URL a poster's QR code opens, carrying who shared it.

``?ref=`` holds the sharer's *customer share code*: the customer id encrypted with a
key derived from the secret key (AES on one 16-byte block: the id and an 8-byte
check), written in lower-case base32. It is stable (one code per customer, so a
poster is cached once), opaque (it neither shows the id nor how many customers there
are) and verifiable (a made-up code decodes to nothing). No table is needed.

A mechanic with its own codes (the referral programme's promoter codes) can register a
provider with :func:`register_code_provider`; the first provider that knows the
customer wins, and the customer share code is the fallback.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from urllib.parse import urlencode

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from sqlalchemy.orm import Session

from siyu.models.campaign import Campaign, CampaignKind

REF_QUERY = "ref"
CAMPAIGN_QUERY = "campaign"
_KEY_LABEL = b"siyu.share-code.v1"
_CHECK_LABEL = b"siyu.share-code.check.v1"
CODE_LENGTH = 26
# The storefront page of each mechanic (the registry's contract); referral has one centre.
CAMPAIGN_PATHS = {
    CampaignKind.FLASH_SALE: "/shop/campaigns/flash-sale/{public_id}",
    CampaignKind.GROUP_BUY: "/shop/campaigns/group-buy/{public_id}",
    CampaignKind.BARGAIN: "/shop/campaigns/bargain/{public_id}",
    CampaignKind.ASSIST: "/shop/campaigns/assist/{public_id}",
    CampaignKind.LOTTERY: "/shop/campaigns/lottery/{public_id}",
    CampaignKind.REFERRAL: "/shop/promoter",
}

CodeProvider = Callable[[Session, int], str | None]
_providers: dict[str, CodeProvider] = {}
# The other way round: a mechanic's own code → the customer who shared it.
CodeResolver = Callable[[Session, str], int | None]
_resolvers: dict[str, CodeResolver] = {}


def register_code_provider(name: str, provider: CodeProvider) -> None:
    if name in _providers:
        raise ValueError(f"share-code provider {name!r} is already registered")
    _providers[name] = provider


def register_code_resolver(name: str, resolver: CodeResolver) -> None:
    if name in _resolvers:
        raise ValueError(f"share-code resolver {name!r} is already registered")
    _resolvers[name] = resolver


def referrer_of(session: Session, secret_key: str, code: str) -> int | None:
    """The customer whose share link carried ``code`` (a customer share code or a
    mechanic's code such as a promoter's); None when nobody is behind it."""
    customer_id = customer_of(secret_key, code)
    if customer_id is not None:
        return customer_id
    for resolver in _resolvers.values():
        customer_id = resolver(session, code)
        if customer_id is not None:
            return customer_id
    return None


def _keys(secret_key: str) -> tuple[bytes, bytes]:
    secret = secret_key.encode()
    return (
        hmac.new(secret, _KEY_LABEL, hashlib.sha256).digest()[:16],
        hmac.new(secret, _CHECK_LABEL, hashlib.sha256).digest(),
    )


def _check(check_key: bytes, customer_id: int) -> bytes:
    return hmac.new(check_key, customer_id.to_bytes(8, "big"), hashlib.sha256).digest()[:8]


def customer_code(secret_key: str, customer_id: int) -> str:
    """The customer's share code (26 characters of base32)."""
    cipher_key, check_key = _keys(secret_key)
    block = customer_id.to_bytes(8, "big") + _check(check_key, customer_id)
    # One block under ECB is a keyed permutation of that block: nothing repeats to leak.
    encryptor = Cipher(algorithms.AES(cipher_key), modes.ECB()).encryptor()
    sealed = encryptor.update(block) + encryptor.finalize()
    return base64.b32encode(sealed).decode().rstrip("=").lower()


def customer_of(secret_key: str, code: str) -> int | None:
    """The customer id behind a share code; None for anything that is not one."""
    if len(code) != CODE_LENGTH:
        return None
    try:
        sealed = base64.b32decode(code.upper() + "=" * 6)
    except ValueError:
        return None
    cipher_key, check_key = _keys(secret_key)
    decryptor = Cipher(algorithms.AES(cipher_key), modes.ECB()).decryptor()
    block = decryptor.update(sealed) + decryptor.finalize()
    customer_id = int.from_bytes(block[:8], "big")
    if not hmac.compare_digest(block[8:], _check(check_key, customer_id)):
        return None
    return customer_id


def referrer_code(session: Session, secret_key: str, customer_id: int) -> str:
    for provider in _providers.values():
        code = provider(session, customer_id)
        if code:
            return code
    return customer_code(secret_key, customer_id)


def _with_query(url: str, ref: str | None, campaign: Campaign | None) -> str:
    query: dict[str, str] = {}
    if ref:
        query[REF_QUERY] = ref
    if campaign is not None:
        query[CAMPAIGN_QUERY] = campaign.public_id
    return f"{url}?{urlencode(query)}" if query else url


def campaign_url(base_url: str, campaign: Campaign, ref: str | None) -> str:
    path = CAMPAIGN_PATHS[CampaignKind(campaign.kind)].format(public_id=campaign.public_id)
    return _with_query(base_url.rstrip("/") + path, ref, campaign)


def product_url(base_url: str, product_id: int, ref: str | None, campaign: Campaign | None) -> str:
    return _with_query(f"{base_url.rstrip('/')}/shop/products/{product_id}", ref, campaign)
