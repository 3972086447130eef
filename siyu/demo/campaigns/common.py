"""Helpers the campaign demo builders share: coupon templates for helpers, stocked
SKUs, picking customers, and running a plan of helper-mechanic entries (bargain and
assist), each in its own transaction. Random choices come from ``ctx.rng`` only, so
the demo brand is the same on every run."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from siyu.campaigns import helping
from siyu.core.errors import SiyuError
from siyu.coupons import templates
from siyu.coupons.schemas import TemplateIn
from siyu.demo.offers.checkouts import mall_skus
from siyu.demo.offers.context import Context, pick
from siyu.models.base import Base
from siyu.models.catalog import Sku
from siyu.models.coupon import CouponKind, ValidityKind
from siyu.models.customer import Customer, CustomerIdentity, CustomerStatus
from siyu.models.stock import StockLevel

DealT = TypeVar("DealT")
RowT = TypeVar("RowT", bound=Base)
One = Callable[[Session, Context, DealT, int, bool], int]


def helper_template(factory: sessionmaker[Session], ctx: Context, name: str, amount: int) -> int:
    """An active no-threshold coupon template for helpers, made through its service."""
    with factory() as session, session.begin():
        template = templates.create(
            session,
            ctx.actor,
            TemplateIn(
                name=name,
                kind=CouponKind.NO_THRESHOLD,
                discount_amount=amount,
                validity=ValidityKind.RELATIVE,
                valid_days=14,
                channels=["mall"],
            ),
        )
        templates.transition(session, ctx.actor, template.id, "activate")
        return template.id


def stocked_skus(session: Session, count: int, *, minimum: int = 20) -> list[int]:
    """Up to ``count`` mall SKUs with at least ``minimum`` units available in some
    warehouse, for a campaign's orders, in one query."""
    available = StockLevel.on_hand - StockLevel.reserved
    stocked = set(
        session.scalars(
            select(StockLevel.sku_id)
            .group_by(StockLevel.sku_id)
            .having(func.max(available) >= minimum)
        )
    )
    return [sku_id for sku_id in mall_skus(session) if sku_id in stocked][:count]


def percent_price(session: Session, sku_id: int, percent: int) -> int:
    """``percent`` of the SKU's sale price, rounded down to whole yuan, at least ¥1."""
    sku = session.get(Sku, sku_id)
    assert sku is not None
    return max(100, sku.sale_price * percent // 100 // 100 * 100)


def random_customer(session: Session, ctx: Context, taken: set[int], *, tries: int) -> int | None:
    """A random customer not yet in ``taken`` (then added to it), in ``tries`` picks."""
    for _ in range(tries):
        found = pick(session, ctx.rng, Customer.id, Customer.id)
        if found is not None and found not in taken:
            taken.add(found)
            return found
    return None


def reachable_customer(session: Session, ctx: Context, taken: set[int]) -> int | None:
    """A random active customer with a reachable identity, not yet in ``taken``."""
    for _ in range(12):
        found = pick(
            session,
            ctx.rng,
            CustomerIdentity.id,
            CustomerIdentity.customer_id,
            CustomerIdentity.kind.in_(helping.REACHABLE_KINDS),
        )
        if found is None or found in taken:
            continue
        customer = session.get(Customer, found)
        if customer is not None and customer.status == CustomerStatus.ACTIVE:
            taken.add(found)
            return found
    return None


def run_plan(
    factory: sessionmaker[Session],
    ctx: Context,
    load: Callable[[Session], DealT],
    one: One[DealT],
    plan: tuple[tuple[int, bool], ...],
) -> int:
    """Each plan entry (helpers, whether the initiator orders) in its own transaction;
    an entry the shop refuses (out of warehouse stock) is skipped. Returns helps made."""
    helps = 0
    for helpers, orders in plan:
        ctx.clock.advance(timedelta(minutes=ctx.rng.randint(20, 240)))
        with factory() as session, session.begin():
            try:
                with session.begin_nested():
                    helps += one(session, ctx, load(session), helpers, orders)
            except SiyuError:
                continue
    return helps


def loader(model: type[RowT], row_id: int) -> Callable[[Session], RowT]:
    """Loads the row (a deal) again in each plan entry's own session."""

    def load(session: Session) -> RowT:
        row = session.get(model, row_id)
        assert row is not None
        return row

    return load


def gather_helps(
    session: Session,
    ctx: Context,
    taken: set[int],
    helpers: int,
    help_once: Callable[[int], object],
    *,
    max_minutes: int,
) -> int:
    """Up to ``helpers`` reachable customers help, minutes apart; a refused help (over
    that helper's daily limit) changes nothing and is skipped. Returns helps made."""
    made = 0
    for _ in range(helpers):
        helper = reachable_customer(session, ctx, taken)
        if helper is None:
            break
        ctx.clock.advance(timedelta(minutes=ctx.rng.randint(3, max_minutes)))
        try:
            help_once(helper)
        except SiyuError:
            continue
        made += 1
    return made
