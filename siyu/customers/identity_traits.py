"""Profile traits sent with identify: validation and how they are applied.

Rules: a trait the caller sends overwrites the stored one; an explicit null clears
it (the caller knows the value is gone, e.g. a city removed in the mini program); a
trait not sent is left alone. Consent flags are merged purpose by purpose (a purpose
not sent keeps its answer); null consent is refused, since withdrawing consent must
be an explicit ``false`` for the purpose.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from siyu.core import clock
from siyu.customers.errors import InvalidTraits
from siyu.models.customer import Customer

GENDERS = ("male", "female", "unknown")
TRAIT_FIELDS = ("name", "gender", "birthday", "city", "consent")
MAX_NAME = 100
MAX_CITY = 64
MAX_CONSENT_PURPOSES = 32
_LOCAL_TZ = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Traits:
    """Profile traits. ``given`` lists the fields the caller sent: a given None clears
    the field (consent excepted), a field not given is left untouched."""

    name: str | None = None
    gender: str | None = None
    birthday: date | None = None
    city: str | None = None
    consent: dict[str, bool] | None = None
    given: frozenset[str] = frozenset()

    @classmethod
    def of(cls, **values: Any) -> Traits:
        unknown = set(values) - set(TRAIT_FIELDS)
        if unknown:
            raise InvalidTraits("Unknown traits.", data={"fields": sorted(unknown)})
        return cls(**values, given=frozenset(values))


def validate_traits(traits: Traits) -> None:
    problems: dict[str, str] = {}
    if traits.name is not None and not 0 < len(traits.name.strip()) <= MAX_NAME:
        problems["name"] = f"1–{MAX_NAME} characters"
    if traits.city is not None and len(traits.city) > MAX_CITY:
        problems["city"] = f"at most {MAX_CITY} characters"
    if traits.gender is not None and traits.gender not in GENDERS:
        problems["gender"] = "one of " + ", ".join(GENDERS)
    if traits.birthday is not None and traits.birthday > clock.now().astimezone(_LOCAL_TZ).date():
        problems["birthday"] = "must not be in the future"
    if "consent" in traits.given:
        consent = traits.consent
        if consent is None:
            problems["consent"] = "send purposes with true or false; null is not accepted"
        elif len(consent) > MAX_CONSENT_PURPOSES or not all(
            isinstance(key, str) and 0 < len(key) <= 64 and isinstance(flag, bool)
            for key, flag in consent.items()
        ):
            problems["consent"] = "an object of purpose → true/false"
    if problems:
        raise InvalidTraits("Invalid traits.", data={"fields": problems})


def apply_traits(customer: Customer, traits: Traits) -> None:
    for name in ("name", "gender", "birthday", "city"):
        if name in traits.given:
            value = getattr(traits, name)
            setattr(customer, name, value.strip() if isinstance(value, str) else value)
    if "consent" in traits.given and traits.consent:
        customer.consent = {**(customer.consent or {}), **traits.consent}
