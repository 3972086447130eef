"""A customer's own coupon claim without the request session: what the plain ASGI
route (``claim_fast_path``) runs under a crowd for ``POST /api/shop/v1/coupons/claim``
(the coupon centre) and ``POST /api/shop/v1/coupon-links/{public_id}`` (a share
link posted in a group).

Per process (:class:`ClaimRuntime`, built on the app's first claim):

* the customer comes from the storefront token cache (``siyu.customers.token_cache``);
* the template from a cache of ``TEMPLATE_TTL_SECONDS``, with its rule lines: an
  edit of its window, limits or validity reaches new claims within that delay.
  Pausing or ending it, and its total quantity, take effect at once, because the
  writer's conditional UPDATE checks the row itself;
* the writes go through the group-commit :class:`ClaimWriter`.

It refuses exactly as ``issuing.claim`` does, with the same codes and data, in the
same order, except where a cache makes that impossible to be sure of; then
:func:`claim` returns None and the request goes to the FastAPI route, which runs
``issuing.claim`` as always: tier-exclusive templates (the tier is the
customer's, read at claim time), and templates with a limit below one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import anyio.to_thread
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from siyu.core import clock
from siyu.core.db import read_only_session
from siyu.core.refreshing_cache import RefreshingCache
from siyu.core.settings import Settings
from siyu.coupons import issuing, presenters
from siyu.coupons.claim_sql import ClaimRow
from siyu.coupons.claim_writer import ClaimWriter
from siyu.coupons.errors import Exhausted, NotClaimable, TemplateNotFound
from siyu.coupons.schemas import ClaimOut, RuleLine
from siyu.customers.sessions import CustomerSessionInvalid
from siyu.customers.token_cache import TokenCache, token_cache_for
from siyu.models.coupon import CouponSource, CouponStatus, CouponTemplate

TEMPLATE_TTL_SECONDS = 2.0
PUBLIC_ID_MAX = 40  # ClaimIn.template_id


@dataclass(frozen=True, slots=True)
class TemplateEntry:
    template: CouponTemplate  # detached: read-only
    rules: list[RuleLine]


class ClaimRuntime:
    def __init__(
        self, factory: sessionmaker[Session], settings: Settings, tokens: TokenCache | None = None
    ) -> None:
        self.factory = factory
        self.settings = settings
        # The plain ASGI route in front of FastAPI; tests turn it off to compare
        # its answers with the FastAPI route's.
        self.fast_path = True
        self.tokens = tokens or TokenCache(lambda: read_only_session(factory))
        self.templates: RefreshingCache[str, TemplateEntry] = RefreshingCache(
            self._load_async, TEMPLATE_TTL_SECONDS
        )
        self.writer = ClaimWriter(factory)

    def _load(self, public_id: str) -> TemplateEntry | None:
        with read_only_session(self.factory) as session:
            template = session.scalars(
                select(CouponTemplate).where(CouponTemplate.public_id == public_id)
            ).first()
            if template is None:
                return None
            rules = presenters.rule_lines(session, template, self.settings.tzinfo)
            session.expunge(template)
            session.connection().close()
        return TemplateEntry(template, rules)

    async def _load_async(self, public_id: str) -> TemplateEntry | None:
        return await anyio.to_thread.run_sync(self._load, public_id)

    def stop(self) -> None:
        self.writer.stop()


def parse_body(raw: bytes) -> str | None:
    """The template id if ``ClaimIn`` would take the body as it is, else None (the
    request then goes to the FastAPI route, whose 422 is pydantic's own)."""
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if type(data) is not dict or data.keys() != {"template_id"}:
        return None
    template_id = data["template_id"]
    if type(template_id) is not str or not 1 <= len(template_id) <= PUBLIC_ID_MAX:
        return None
    return template_id


def _sure_of(template: CouponTemplate) -> bool:
    """Whether this path can decide a claim of ``template`` as ``issuing`` would."""
    limits = (template.per_customer_limit, template.per_day_limit)
    return template.min_tier_rank is None and all(limit is None or limit >= 1 for limit in limits)


async def claim(
    runtime: ClaimRuntime, token: str | None, public_id: str, *, via_link: bool = False
) -> bytes | None:
    """Issue a coupon of template ``public_id`` to the token's customer, from the
    coupon centre (only templates listed there) or a share link (any template), as
    ``issuing.claim``: the 201 body, a ``SiyuError`` refusal, or None when the route
    must decide."""
    customer = await runtime.tokens.customer_for(token)
    if customer is None:
        raise CustomerSessionInvalid()
    entry = await runtime.templates.get(public_id)
    if entry is None or not (via_link or entry.template.in_coupon_centre):
        raise TemplateNotFound(data={"template_id": public_id})
    source = CouponSource.LINK if via_link else CouponSource.CLAIM
    template = entry.template
    if not _sure_of(template):
        return None
    now = clock.now()
    problem = issuing.claim_problem(template, source, now)
    if problem is not None:
        raise NotClaimable(data={"template_id": template.id, "reason": problem})
    # issued_count only grows: a cached count at the total is final (as the plain
    # read in ``issuing.issue``); one below it is decided by the writer.
    if template.total_quantity is not None and template.issued_count >= template.total_quantity:
        raise Exhausted(data={"template_id": template.id})
    row = claim_row(template, customer.customer_id, now, source)
    await runtime.writer.run(row)
    return _claimed_body(entry, row)


def claim_row(
    template: CouponTemplate,
    customer_id: int,
    now: datetime,
    source: CouponSource = CouponSource.CLAIM,
) -> ClaimRow:
    """What a customer's own claim of ``template`` at ``now`` writes."""
    valid_from, valid_until = issuing.validity(template, now)
    return ClaimRow(
        template_id=template.id,
        customer_id=customer_id,
        source=source.value,
        code=issuing.new_code(),
        today=issuing.shop_today(now),
        now=now,
        valid_from=valid_from,
        valid_until=valid_until,
        per_customer_limit=template.per_customer_limit,
        per_day_limit=template.per_day_limit,
    )


def _claimed_body(entry: TemplateEntry, row: ClaimRow) -> bytes:
    """``ClaimOut`` as the route renders it (``presenters.shop_coupon_out``)."""
    coupon = presenters.shop_coupon_from(
        entry.template,
        entry.rules,
        code=row.code,
        status=CouponStatus.AVAILABLE.value,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        used_at=None,
    )
    return ClaimOut(coupon=coupon).model_dump_json().encode()


def runtime_for(app: Any) -> ClaimRuntime:
    """The app's claim runtime, made on first use; a new one when the app's database
    changed (tests reuse one app over many databases)."""
    state = app.state
    runtime: ClaimRuntime | None = getattr(state, "coupon_claims", None)
    if runtime is None or runtime.factory is not state.session_factory:
        if runtime is not None:
            runtime.stop()
        runtime = ClaimRuntime(state.session_factory, state.settings, token_cache_for(app))
        state.coupon_claims = runtime
    return runtime
