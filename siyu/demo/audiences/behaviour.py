"""Tracked events the audiences phase adds, through the real tracking service.

The brand's generated history has no official account and its browsing is spread
over months, so three audiences would be empty: OA followers (an OA follow is a
``subscribe`` on the ``oa`` touchpoint carrying the follower's ``oa_openid``),
mini-program subscribe-message opt-ins, and the lipstick lookers (three or more 口红
product views in the last days without an order). The events go through
``siyu.events.service.ingest`` in batches of 1,000, as a client would send them.
The followers' ``oa_openid`` rows are written first, in bulk and normalised exactly
as ``identify`` does (as the brand generator writes every identity): linking
~13,000 new identities one by one through identity resolution would take minutes
of the phase, and the follow events then resolve to the customer by the openid.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from siyu.core.crypto import PiiCipher
from siyu.customers.kinds import normalise
from siyu.demo.audiences.people import DemoPeople
from siyu.events import service as events
from siyu.models.customer import CustomerIdentity, IdentityKind

SOURCE = "demo"
DEMO_OA_APP_ID = "wxdemooa00000000"
OA_FOLLOW_SHARE = 0.30
MP_OPT_IN_SHARE = 0.15
LOOKER_SHARE = 0.015
MIN_LOOKERS = 5
BATCH = 1_000
# The tracking API refuses events older than 30 days: follows spread over 28.
FOLLOW_DAYS = 28
LOOK_DAYS = 6


def _event_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def tracked(
    rng: random.Random,
    kind: str,
    at: datetime,
    touchpoint: str,
    identities: list[dict[str, str]],
    properties: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "event_id": _event_id(rng),
        "type": kind,
        "occurred_at": at.isoformat(),
        "identities": identities,
        "context": {"touchpoint": touchpoint},
        "properties": properties or {},
    }


def lipstick_views(
    rng: random.Random, unionid: str, products: list[int], times: list[datetime]
) -> list[dict[str, Any]]:
    return [
        tracked(
            rng,
            "product_view",
            at,
            "mp",
            [{"kind": "unionid", "value": unionid}],
            {"spu_id": rng.choice(products)},
        )
        for at in times
    ]


def ingest_all(session: Session, cipher: PiiCipher, batch: list[dict[str, Any]]) -> int:
    accepted = 0
    for start in range(0, len(batch), BATCH):
        result = events.ingest(session, cipher, batch[start : start + BATCH], source=SOURCE)
        accepted += result.accepted
    return accepted


def track_behaviour(
    session: Session, cipher: PiiCipher, people: DemoPeople, rng: random.Random, *, now: datetime
) -> dict[str, int]:
    """OA follows, mini-program opt-ins and lipstick lookers; returns counts by kind."""
    batch: list[dict[str, Any]] = []
    counts = {"oa_follows": 0, "mp_opt_ins": 0, "lipstick_lookers": 0}
    lookers: list[int] = []
    follows: list[tuple[int, str, datetime]] = []
    for customer_id in people.customer_ids:
        unionid = people.unionids.get(customer_id)
        if unionid is None:
            continue
        union = {"kind": "unionid", "value": unionid}
        if rng.random() < OA_FOLLOW_SHARE:
            at = now - timedelta(seconds=rng.uniform(600, FOLLOW_DAYS * 86400))
            openid = "oA" + _event_id(rng).replace("-", "")[:26]
            follows.append((customer_id, openid, at))
            identity = {"kind": "oa_openid", "value": openid, "app_id": DEMO_OA_APP_ID}
            # Known by its openid (written below): the batch resolution's fast path.
            batch.append(tracked(rng, "subscribe", at, "oa", [identity]))
            counts["oa_follows"] += 1
        if rng.random() < MP_OPT_IN_SHARE:
            at = now - timedelta(seconds=rng.uniform(600, FOLLOW_DAYS * 86400))
            properties = {"template_id": "order_shipped"}
            batch.append(tracked(rng, "subscribe", at, "mp", [union], properties))
            counts["mp_opt_ins"] += 1
        if (
            people.lipstick_products
            and customer_id not in people.recent_buyers
            and rng.random() < LOOKER_SHARE
        ):
            lookers.append(customer_id)
    if people.lipstick_products and len(lookers) < MIN_LOOKERS:
        # A small brand still shows the audience: the first few eligible customers.
        eligible = [
            c for c in people.customer_ids if c in people.unionids and c not in people.recent_buyers
        ]
        lookers = sorted(set(lookers) | set(eligible[:MIN_LOOKERS]))
    for customer_id in lookers:
        # One evening each on 3–5 days of the last six: looking, not buying.
        days = sorted(rng.sample(range(LOOK_DAYS), rng.randint(3, 5)))
        times = [
            now - timedelta(days=day, hours=rng.uniform(1, 5), minutes=rng.uniform(0, 59))
            for day in days
        ]
        batch.extend(
            lipstick_views(rng, people.unionids[customer_id], people.lipstick_products, times)
        )
    counts["lipstick_lookers"] = len(lookers)
    write_follower_identities(session, cipher, follows)
    counts["events"] = ingest_all(session, cipher, batch)
    return counts


def write_follower_identities(
    session: Session, cipher: PiiCipher, follows: list[tuple[int, str, datetime]]
) -> None:
    rows = []
    for customer_id, openid, at in follows:
        item = normalise(cipher, IdentityKind.OA_OPENID, openid, DEMO_OA_APP_ID)
        rows.append(
            {
                "customer_id": customer_id,
                "kind": item.key.kind.value,
                "namespace": item.key.namespace,
                "lookup_key": item.key.lookup_key,
                "value": item.value,
                "encrypted_value": item.encrypted_value,
                "created_at": at,
                "last_seen_at": at,
            }
        )
    for start in range(0, len(rows), BATCH):
        session.execute(insert(CustomerIdentity), rows[start : start + BATCH])
