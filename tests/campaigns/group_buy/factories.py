"""Group-buy test helpers: a live campaign with one deal made through the services, and
the order-event plumbing run as the dispatcher and worker would."""

from __future__ import annotations

import importlib
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu import handlers
from siyu.campaigns.group_buy import deals, participation
from siyu.campaigns.group_buy.participation import Delivery
from siyu.campaigns.group_buy.schemas import DealIn, GroupBuyIn
from siyu.campaigns.registry.schemas import CampaignFields
from siyu.core import clock, outbox
from siyu.core.crypto import PiiCipher
from siyu.core.settings import Settings
from siyu.models.campaign import Campaign, LifecycleStage
from siyu.models.catalog import Sku
from siyu.models.group_buy import GroupBuyDeal, GroupBuyGroup, GroupBuyMember
from siyu.models.job import Job, JobStatus
from siyu.models.order import Order
from siyu.models.outbox import OutboxEvent
from siyu.models.payment import Refund
from siyu.orders import refunds
from tests.factories import make_staff, principal_of
from tests.orders.factories import ADDRESS, pay, sandbox

handlers.load_all()
importlib.import_module("siyu.campaigns.group_buy.tasks")

DELIVERY = Delivery(address=dict(ADDRESS), touchpoint="mp")
_DELIVERED = "tests.group_buy.delivered"


def make_deal(
    session: Session,
    *,
    sku: Sku,
    group_size: int = 3,
    group_price: int = 9900,
    leader_price: int | None = 8900,
    time_limit_minutes: int = 60,
    stock_total: int = 50,
    new_customers_only: bool = False,
    per_customer_limit: int | None = None,
    virtual_completion: bool = False,
    starts_in: timedelta = timedelta(hours=-1),
    lasts: timedelta = timedelta(days=2),
    publish: bool = True,
) -> tuple[Campaign, GroupBuyDeal]:
    now = clock.now()
    body = GroupBuyIn(
        campaign=CampaignFields(
            name="三人拼团",
            lifecycle_stage=LifecycleStage.ACQUIRE,
            starts_at=now + starts_in,
            ends_at=now + starts_in + lasts,
        ),
        deals=[
            DealIn(
                sku_id=sku.id,
                title="口红三人团",
                group_price=group_price,
                leader_price=leader_price,
                group_size=group_size,
                time_limit_minutes=time_limit_minutes,
                stock_total=stock_total,
                new_customers_only=new_customers_only,
                per_customer_limit=per_customer_limit,
                virtual_completion=virtual_completion,
            )
        ],
        publish=publish,
    )
    campaign, created = deals.create(session, principal_of(make_staff(session)), body)
    return campaign, created[0]


def deliver(session: Session) -> int:
    """Run group buy's handlers on order events not yet delivered by this helper."""
    done: set[str] = session.info.setdefault(_DELIVERED, set())
    count = 0
    while True:
        rows = [
            row
            for row in session.scalars(
                select(OutboxEvent).where(OutboxEvent.name.like("order.%")).order_by(OutboxEvent.id)
            )
            if row.event_id not in done
        ]
        if not rows:
            return count
        for row in rows:
            done.add(row.event_id)
            event = outbox.DomainEvent(row.event_id, row.name, row.payload, row.occurred_at)
            for name, function in outbox.default_registry().handlers_for(row.name).items():
                if name.startswith("group_buy."):
                    function(session, event)
            count += 1


def open_and_pay(
    session: Session, cipher: PiiCipher, settings: Settings, deal: GroupBuyDeal, customer_id: int
) -> tuple[GroupBuyGroup, Order]:
    group, order = participation.open_group(session, cipher, settings, customer_id, deal, DELIVERY)
    pay(session, settings, order)
    deliver(session)
    session.refresh(group)
    session.refresh(order)
    return group, order


def join_and_pay(
    session: Session,
    cipher: PiiCipher,
    settings: Settings,
    group: GroupBuyGroup,
    customer_id: int,
) -> Order:
    order = participation.join_group(session, cipher, settings, customer_id, group, DELIVERY)
    pay(session, settings, order)
    deliver(session)
    session.refresh(group)
    session.refresh(order)
    return order


def submit_refunds(session: Session) -> int:
    """Send every processing refund to the sandbox provider, as the submit job would."""
    count = 0
    for refund_id in session.scalars(select(Refund.id).where(Refund.status == "processing")):
        submission = refunds.prepare_submission(session, refund_id)
        if submission is not None:
            refunds.record_submission(session, submission, sandbox().refund(submission.request))
            count += 1
    deliver(session)
    return count


def members(session: Session, group: GroupBuyGroup) -> list[tuple[bool, str]]:
    rows = session.execute(
        select(GroupBuyMember.is_leader, GroupBuyMember.status)
        .where(GroupBuyMember.group_id == group.id)
        .order_by(GroupBuyMember.id)
    )
    return [(row.is_leader, row.status) for row in rows]


def queued_jobs(session: Session, task: str) -> list[Job]:
    return list(
        session.scalars(
            select(Job).where(Job.task == task, Job.status == JobStatus.QUEUED).order_by(Job.id)
        )
    )


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0
