"""Customers of the demo brand: when they arrive, through which code, who they are.

Each customer carries the parameters of a Pareto/NBD-like buying process: a purchase
rate λ and a drop-out rate μ, both drawn from Gamma distributions, so a few loyal
customers buy often for months while most buy once or never (the heterogeneity the
CLV models in the analytics issue expect), and a spend scale from a Gamma (as in
the Gamma-Gamma spend model).
"""

from __future__ import annotations

import bisect
import random
import string
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import accumulate
from zoneinfo import ZoneInfo

from siyu.core.crypto import PiiCipher
from siyu.customers.kinds import normalise
from siyu.demo.brand.names import person_name, weighted_city
from siyu.demo.brand.venues import DemoCode, Venues
from siyu.demo.brand.writer import BulkWriter
from siyu.models.channel_code import ChannelCodeVisit
from siyu.models.customer import (
    Customer,
    CustomerIdentity,
    CustomerStaffLink,
    CustomerStatus,
    CustomerTag,
    IdentityKind,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEMO_CORP_ID = "wwdemo5f3a9c1e7b2d"
# Purchase rate λ per day ~ Gamma(shape, scale): mean shape × scale ≈ one order per
# ~80 days; a shape below 1 puts most customers near zero and a few far above.
PURCHASE_SHAPE = 0.55
PURCHASE_MEAN_PER_DAY = 1 / 80
# Drop-out rate μ per day ~ Gamma: mean lifetime of several months, widely spread.
DROPOUT_SHAPE = 0.8
DROPOUT_MEAN_PER_DAY = 1 / 150
# Spend scale ~ Gamma(q, 1/q): mean 1, a long right tail of big baskets.
SPEND_SHAPE = 3.0
# Local hours at which customers show up (WeChat traffic peaks at lunch and evening).
HOUR_WEIGHTS = (
    1,
    0.5,
    0.3,
    0.2,
    0.2,
    0.3,
    0.8,
    1.5,
    2.5,
    3,
    3.5,
    4,
    5.5,
    5,
    4,
    3.5,
    3.5,
    4,
    4.5,
    5.5,
    7,
    7.5,
    6,
    3,
)
_HOUR_CUMULATIVE = list(accumulate(HOUR_WEIGHTS))
_ALPHABET = string.ascii_letters + string.digits + "-_"


@dataclass
class DemoCustomer:
    id: int
    arrival: datetime
    code: DemoCode
    guide_id: int | None
    store_id: int | None
    # The store a customer visits for the till or pick-up (their own, or one in town).
    home_store_id: int
    offline_affinity: float
    purchase_rate: float
    dropout_at: datetime
    spend_scale: float
    female: bool


def _token(rng: random.Random, length: int) -> str:
    return "".join(rng.choices(_ALPHABET, k=length))


def arrival_times(
    rng: random.Random, count: int, *, start: datetime, now: datetime
) -> list[datetime]:
    """``count`` arrival moments between ``start`` and ``now``, sorted.

    Daily volume grows as the private domain builds up, is higher at weekends, and
    spikes on two campaign days (a 618-like and a 双11-like one).
    """
    days = max(1, (now - start).days)
    spikes = {int(days * 0.35), int(days * 0.8)}
    weights: list[float] = []
    for day in range(days):
        moment = (start + timedelta(days=day)).astimezone(SHANGHAI)
        weight = 0.5 + day / days
        if moment.weekday() >= 5:
            weight *= 1.3
        if day in spikes:
            weight *= 3.5
        weights.append(weight)
    cumulative = list(accumulate(weights))
    first_local_midnight = datetime.combine(
        start.astimezone(SHANGHAI).date(), datetime.min.time(), SHANGHAI
    )
    result: list[datetime] = []
    for _ in range(count):
        day = bisect.bisect_left(cumulative, rng.random() * cumulative[-1])
        hour = bisect.bisect_left(_HOUR_CUMULATIVE, rng.random() * _HOUR_CUMULATIVE[-1])
        moment = first_local_midnight + timedelta(
            days=day + 1, hours=hour, seconds=rng.randrange(3600)
        )
        moment = moment.astimezone(now.tzinfo)
        if moment >= now:
            moment = now - timedelta(seconds=rng.randrange(60, 6 * 3600))
        result.append(max(moment, start))
    result.sort()
    return result


class PeopleFactory:
    def __init__(
        self,
        rng: random.Random,
        venues: Venues,
        *,
        cipher: PiiCipher,
        mp_app_id: str,
        now: datetime,
        tag_ids: dict[str, int],
    ) -> None:
        self.rng = rng
        self.venues = venues
        self.cipher = cipher
        self.mp_app_id = mp_app_id
        self.now = now
        self.tag_ids = tag_ids
        self._code_cumulative = list(accumulate(code.weight for code in venues.codes))
        self._store_ids = [store.id for store in venues.stores]
        self._stores_by_city: dict[str, list[int]] = {}
        for store in venues.stores:
            self._stores_by_city.setdefault(store.city, []).append(store.id)
        self._phones: set[str] = set()

    def plan(self, customer_id: int, arrival: datetime) -> DemoCustomer:
        rng = self.rng
        codes = self.venues.codes
        code = codes[
            bisect.bisect_left(self._code_cumulative, rng.random() * self._code_cumulative[-1])
        ]
        home = code.store_id if code.store_id is not None else rng.choice(self._store_ids)
        rate = rng.gammavariate(PURCHASE_SHAPE, PURCHASE_MEAN_PER_DAY / PURCHASE_SHAPE)
        dropout = rng.gammavariate(DROPOUT_SHAPE, DROPOUT_MEAN_PER_DAY / DROPOUT_SHAPE)
        lifetime_days = min(rng.expovariate(dropout) if dropout > 0 else 10_000.0, 10_000.0)
        return DemoCustomer(
            id=customer_id,
            arrival=arrival,
            code=code,
            guide_id=code.guide_id,
            store_id=code.store_id,
            home_store_id=home,
            offline_affinity=code.offline_affinity,
            purchase_rate=rate,
            dropout_at=arrival + timedelta(days=lifetime_days),
            spend_scale=rng.gammavariate(SPEND_SHAPE, 1 / SPEND_SHAPE),
            female=rng.random() < 0.88,
        )

    def _phone(self) -> str:
        while True:
            phone = f"1{self.rng.choice('3456789')}{self.rng.randrange(10**9):09d}"
            if phone not in self._phones:
                self._phones.add(phone)
                return phone

    def write(self, writer: BulkWriter, customer: DemoCustomer, last_seen: datetime) -> None:
        """The rows `identify` and the channel-code attribution would have written."""
        rng = self.rng
        at = customer.arrival
        code = customer.code
        birthday = None
        if rng.random() < 0.35:
            birthday = date(rng.randint(1975, 2005), rng.randint(1, 12), rng.randint(1, 28))
        writer.add(
            Customer.__table__,
            {
                "id": customer.id,
                "status": CustomerStatus.ACTIVE.value,
                "merged_into_id": None,
                "pseudonym": None,
                "name": person_name(rng, female=customer.female) if rng.random() < 0.7 else None,
                "gender": "female" if customer.female else "male",
                "birthday": birthday,
                "city": weighted_city(rng),
                "consent": {"marketing": rng.random() < 0.8, "analytics": True},
                "first_touch_channel_code_id": code.id,
                "first_touchpoint": code.touchpoint,
                "first_touch_at": at,
                "last_touch_channel_code_id": code.id,
                "last_touchpoint": code.touchpoint,
                "last_touch_at": at,
                "guide_id": customer.guide_id,
                "store_id": customer.store_id,
                "last_seen_at": last_seen,
                "created_at": at,
                "updated_at": last_seen,
            },
        )
        identities: list[tuple[IdentityKind, str, str]] = []
        has_wechat = rng.random() < 0.9
        if has_wechat:
            identities.append((IdentityKind.MP_OPENID, "o" + _token(rng, 27), self.mp_app_id))
            identities.append((IdentityKind.UNIONID, "oU" + _token(rng, 26), ""))
        if not has_wechat or rng.random() < 0.4:
            identities.append((IdentityKind.PHONE, self._phone(), ""))
        external_userid = None
        if code.kind in ("guide", "parcel_card") and customer.guide_id is not None:
            external_userid = "wm" + _token(rng, 30)
            identities.append((IdentityKind.WECOM_EXTERNAL_USERID, external_userid, DEMO_CORP_ID))
        for kind, value, namespace in identities:
            # The same normalisation, keyed hash and encryption as `identify`.
            item = normalise(self.cipher, kind, value, namespace)
            writer.add(
                CustomerIdentity.__table__,
                {
                    "customer_id": customer.id,
                    "kind": item.key.kind.value,
                    "namespace": item.key.namespace,
                    "lookup_key": item.key.lookup_key,
                    "value": item.value,
                    "encrypted_value": item.encrypted_value,
                    "created_at": at,
                    "last_seen_at": last_seen,
                },
            )
        if external_userid is not None and customer.guide_id is not None:
            writer.add(
                CustomerStaffLink.__table__,
                {
                    "customer_id": customer.id,
                    "staff_id": customer.guide_id,
                    "corp_id": DEMO_CORP_ID,
                    "external_userid": external_userid,
                    "state": code.code,
                    "added_at": at,
                    "removed_at": None,
                },
            )
        how = {"guide": "wecom_add", "store_poster": "scan", "parcel_card": "scan"}.get(
            code.kind, "visit"
        )
        writer.add(
            ChannelCodeVisit.__table__,
            {
                "channel_code_id": code.id,
                "customer_id": customer.id,
                "is_new_customer": True,
                "how": how,
                "occurred_at": at,
            },
        )
        for tag_id in self.tag_ids_for(code):
            writer.add(
                CustomerTag.__table__,
                {
                    "customer_id": customer.id,
                    "tag_id": tag_id,
                    "source": f"channel_code:{code.code}",
                    "added_at": at,
                },
            )

    def tag_ids_for(self, code: DemoCode) -> list[int]:
        return [self.tag_ids[name] for name in code.tag_names if name in self.tag_ids]


# Purchases in the arrival session: likelier for customers met in a store.
FIRST_PURCHASE_BASE = 0.3
MAX_ORDERS_PER_CUSTOMER = 60


def purchase_times(
    rng: random.Random, customer: DemoCustomer, *, now: datetime
) -> list[tuple[datetime, bool]]:
    """(moment, is_first_touch) of each purchase: maybe one in the arrival session, then
    a Poisson process at the customer's own rate λ until they drop out (Pareto/NBD)."""
    times: list[tuple[datetime, bool]] = []
    if rng.random() < FIRST_PURCHASE_BASE + 0.4 * customer.offline_affinity:
        moment = customer.arrival + timedelta(minutes=rng.uniform(3, 40))
        if moment < now:
            times.append((moment, True))
    end = min(customer.dropout_at, now)
    moment = customer.arrival
    while len(times) < MAX_ORDERS_PER_CUSTOMER:
        gap_days = rng.expovariate(customer.purchase_rate) if customer.purchase_rate > 0 else 1e9
        if gap_days * 86400 >= (end - moment).total_seconds():
            break
        moment += timedelta(days=gap_days)
        times.append((moment, False))
    return times
