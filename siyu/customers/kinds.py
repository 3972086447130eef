"""Identity kinds, their rules, and normalisation of incoming identifiers.

Two properties per kind (see docs/customers.md):

* **strong** — trusted to join records: two customers that both own strong
  identifiers arriving in one call are merged. A weak identifier (anonymous_id, a
  shared device) links a customer but never merges two customers that both have
  strong identities.
* **single-valued** — a person has at most one per namespace (one unionid, one openid
  per app, one phone, one member card). A second, different value of such a kind on
  one customer is a conflict for an operator, never a silent merge.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from siyu.core.crypto import PiiCipher
from siyu.core.errors import ValidationFailed
from siyu.models.customer import IdentityKind

STRONG_KINDS = frozenset(
    {
        IdentityKind.UNIONID,
        IdentityKind.OA_OPENID,
        IdentityKind.MP_OPENID,
        IdentityKind.WECOM_EXTERNAL_USERID,
        IdentityKind.PHONE,
        IdentityKind.MEMBER_NO,
        IdentityKind.EXTERNAL,
    }
)
SINGLE_VALUED_KINDS = frozenset(
    {
        IdentityKind.UNIONID,
        IdentityKind.OA_OPENID,
        IdentityKind.MP_OPENID,
        IdentityKind.WECOM_EXTERNAL_USERID,
        IdentityKind.PHONE,
        IdentityKind.MEMBER_NO,
    }
)
# Kinds whose identifiers live in a namespace that must be given.
NAMESPACED_KINDS = {
    IdentityKind.OA_OPENID: "app_id",
    IdentityKind.MP_OPENID: "app_id",
    IdentityKind.WECOM_EXTERNAL_USERID: "corp_id",
    IdentityKind.EXTERNAL: "platform",
}
# Personal data: stored encrypted, looked up by keyed hash, masked in responses.
PERSONAL_KINDS = frozenset({IdentityKind.PHONE})

MAX_VALUE_LENGTH = 128
MAX_NAMESPACE_LENGTH = 64
_MAINLAND_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_PHONE_NOISE = re.compile(r"[\s\-()]")


class UnknownIdentityKind(ValidationFailed):
    code = "customer.unknown_identity_kind"


class InvalidIdentity(ValidationFailed):
    code = "customer.invalid_identity"


class InvalidPhone(ValidationFailed):
    code = "customer.invalid_phone"


@dataclass(frozen=True, order=True)
class IdentityKey:
    """A normalised identifier: what uniqueness and lookups are keyed on."""

    kind: IdentityKind
    namespace: str
    lookup_key: str

    @property
    def is_strong(self) -> bool:
        return self.kind in STRONG_KINDS

    @property
    def is_single_valued(self) -> bool:
        return self.kind in SINGLE_VALUED_KINDS


@dataclass(frozen=True)
class NormalisedIdentity:
    key: IdentityKey
    # The plain value to store, or None when it is stored encrypted.
    value: str | None
    encrypted_value: str | None
    # The normalised plain value, kept in memory only (for masking in responses).
    display: str


def normalise_phone(raw: str) -> str:
    """Mainland China mobile numbers, with or without +86 / 0086 and separators."""
    phone = _PHONE_NOISE.sub("", raw)
    for prefix in ("+86", "0086", "86"):
        if phone.startswith(prefix) and len(phone) == len(prefix) + 11:
            phone = phone[len(prefix) :]
            break
    if not _MAINLAND_MOBILE.match(phone):
        raise InvalidPhone("Phone numbers must be mainland China mobile numbers (11 digits).")
    return phone


def mask_phone(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 7 else "****"


# A dict lookup: the enum constructor costs ~5 µs, paid per event on the ingest path.
_KINDS_BY_VALUE = {kind.value: kind for kind in IdentityKind}


def parse_kind(raw: str) -> IdentityKind:
    kind = _KINDS_BY_VALUE.get(raw)
    if kind is None:
        raise UnknownIdentityKind(
            f"Unknown identity kind {raw!r}.",
            data={"kind": raw, "allowed": list(_KINDS_BY_VALUE)},
        )
    return kind


def normalise(
    cipher: PiiCipher, kind: IdentityKind | str, value: str, namespace: str | None = None
) -> NormalisedIdentity:
    # IdentityKind is a StrEnum, so test for it first: parsing an enum again costs time.
    kind = kind if isinstance(kind, IdentityKind) else parse_kind(kind)
    value = value.strip()
    namespace = (namespace or "").strip()
    if not value or len(value) > MAX_VALUE_LENGTH:
        raise InvalidIdentity(
            f"Identity values are 1–{MAX_VALUE_LENGTH} characters.", data={"kind": kind.value}
        )
    required = NAMESPACED_KINDS.get(kind)
    if required and not namespace:
        raise InvalidIdentity(
            f"{kind.value} needs {required}.", data={"kind": kind.value, "field": required}
        )
    if not required:
        namespace = ""
    if len(namespace) > MAX_NAMESPACE_LENGTH:
        raise InvalidIdentity("Namespace too long.", data={"kind": kind.value})
    if kind in PERSONAL_KINDS:
        phone = normalise_phone(value)
        return NormalisedIdentity(
            key=IdentityKey(kind, namespace, cipher.lookup_hash(phone, context=kind.value)),
            value=None,
            encrypted_value=cipher.encrypt(phone, context=kind.value),
            display=phone,
        )
    if kind is IdentityKind.MEMBER_NO:
        value = value.upper()
    return NormalisedIdentity(
        key=IdentityKey(kind, namespace, value), value=value, encrypted_value=None, display=value
    )
