"""Binding a customer to a promoter, and attributing orders at checkout.

A visit or sign-in carrying ``ref=<code>`` binds the customer to that promoter for
the live programme's ``bind_days``. The rule is the programme's:

- ``last`` (re-bind, last touch): every new share link moves the binding — one
  upsert, so racing visits end with one binding, the last to commit;
- ``first``: the first promoter keeps the customer until the binding expires; a
  conditional UPDATE (``WHERE expires_at <= now OR promoter_id = :same``) after an
  insert-or-nothing, never a read-then-write.

At checkout the placement hook ``referral.attribute`` records, in the order's own
transaction, which promoter (and which inviter, for level 2) the order belongs to:
the bound promoter, if the binding is still inside its window, the promoter is
active and is not the buyer. It writes only the referral domain's own row.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import case, or_, select, update
from sqlalchemy.orm import Session

from siyu.campaigns.referral import programme, promoters
from siyu.campaigns.referral.errors import ProgrammeNotLive, SelfReferral
from siyu.core import clock
from siyu.core.db import dialect_insert
from siyu.models.order import Order, OrderLine
from siyu.models.referral import (
    BindRule,
    Promoter,
    PromoterStatus,
    ReferralAttribution,
    ReferralBinding,
)
from siyu.orders import checkout
from siyu.orders.pricing import pipeline

HOOK_NAME = "referral.attribute"


def bind(session: Session, customer_id: int, code: str) -> ReferralBinding:
    live = programme.live(session)
    if live is None:
        raise ProgrammeNotLive()
    promoter = promoters.by_code(session, code)
    if promoter.customer_id == customer_id:
        raise SelfReferral(data={"code": code})
    now = clock.now()
    expires = now + timedelta(days=live.bind_days)
    values = {
        "customer_id": customer_id,
        "promoter_id": promoter.id,
        "campaign_id": live.campaign_id,
        "first_bound_at": now,
        "bound_at": now,
        "expires_at": expires,
        "rebinds": 0,
    }
    insert = dialect_insert(session, ReferralBinding).values(**values)
    if live.bind_rule == BindRule.LAST:
        existing = ReferralBinding.__table__.c
        session.execute(
            insert.on_conflict_do_update(
                index_elements=["customer_id"],
                set_={
                    "promoter_id": promoter.id,
                    "campaign_id": live.campaign_id,
                    "bound_at": now,
                    "expires_at": expires,
                    "rebinds": case(
                        (existing.promoter_id != promoter.id, existing.rebinds + 1),
                        else_=existing.rebinds,
                    ),
                },
            )
        )
    else:
        session.execute(insert.on_conflict_do_nothing(index_elements=["customer_id"]))
        # First bind wins: only an expired binding (or the same promoter's, whose
        # window restarts) moves; the WHERE decides, so racing visits cannot both win.
        session.execute(
            update(ReferralBinding)
            .where(
                ReferralBinding.customer_id == customer_id,
                or_(ReferralBinding.expires_at <= now, ReferralBinding.promoter_id == promoter.id),
            )
            .values(
                promoter_id=promoter.id,
                campaign_id=live.campaign_id,
                bound_at=now,
                expires_at=expires,
                rebinds=case(
                    (ReferralBinding.promoter_id != promoter.id, ReferralBinding.rebinds + 1),
                    else_=ReferralBinding.rebinds,
                ),
            )
            .execution_options(synchronize_session=False)
        )
    binding = session.get(ReferralBinding, customer_id, populate_existing=True)
    assert binding is not None
    return binding


def current_binding(session: Session, customer_id: int) -> ReferralBinding | None:
    binding = session.get(ReferralBinding, customer_id)
    if binding is None or binding.expires_at <= clock.now():
        return None
    return binding


def attribute(
    session: Session, order: Order, _lines: list[OrderLine], _result: pipeline.PricingResult
) -> None:
    """Placement hook: attribute ``order`` to the customer's bound promoter."""
    live = programme.live(session)
    if live is None:
        return
    now = clock.now()
    row = session.execute(
        select(ReferralBinding.bound_at, Promoter.id, Promoter.customer_id, Promoter.parent_id)
        .join(Promoter, Promoter.id == ReferralBinding.promoter_id)
        .where(
            ReferralBinding.customer_id == order.customer_id,
            ReferralBinding.expires_at > now,
            Promoter.status == PromoterStatus.ACTIVE.value,
        )
    ).first()
    if row is None or row.customer_id == order.customer_id:
        return  # not bound, expired, suspended, or buying through their own link
    parent_id = None
    if live.second_level_enabled and row.parent_id is not None:
        parent = session.execute(
            select(Promoter.customer_id, Promoter.status).where(Promoter.id == row.parent_id)
        ).first()
        if (
            parent is not None
            and parent.status == PromoterStatus.ACTIVE
            and parent.customer_id != order.customer_id
        ):
            parent_id = row.parent_id
    session.add(
        ReferralAttribution(
            order_id=order.id,
            campaign_id=live.campaign_id,
            customer_id=order.customer_id,
            promoter_id=row.id,
            parent_promoter_id=parent_id,
            bound_at=row.bound_at,
            created_at=now,
        )
    )
    session.flush()


checkout.register_placement_hook(HOOK_NAME, attribute)
