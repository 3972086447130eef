"""The cart: a customer's SKUs and quantities, priced live when read.

Adding is one upsert (insert, or add to the quantity already there), so two taps on
"加入购物车" from two devices never lose one. Items that went off sale stay in the
cart, shown as unavailable with the reason, until the customer removes them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from siyu.catalog import prices
from siyu.core import clock
from siyu.core.db import rowcount
from siyu.models.catalog import SalesChannel
from siyu.models.order import CartItem
from siyu.orders.errors import CartFull, InvalidQuantity

MAX_DISTINCT_ITEMS = 100
MAX_QUANTITY = 999


@dataclass(frozen=True)
class CartLine:
    sku_id: int
    quantity: int
    is_selected: bool
    sku: prices.SellableSku | None
    # Why it cannot be bought now (off_sale, channel_excluded …), else None.
    unavailable_reason: str | None

    @property
    def amount(self) -> int:
        return self.sku.unit_price * self.quantity if self.sku else 0


def _check_quantity(sku_id: int, quantity: int) -> None:
    if not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidQuantity(data={"sku_id": sku_id, "quantity": quantity})


def add(session: Session, customer_id: int, sku_id: int, quantity: int) -> None:
    _check_quantity(sku_id, quantity)
    # Adding something unsellable is refused at once; it may still go off sale later.
    prices.sellable_skus(session, [sku_id], channel=SalesChannel.MALL)
    count = session.scalar(
        select(func.count()).select_from(CartItem).where(CartItem.customer_id == customer_id)
    )
    now = clock.now()
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(CartItem).values(
        customer_id=customer_id,
        sku_id=sku_id,
        quantity=quantity,
        is_selected=True,
        added_at=now,
        updated_at=now,
    )
    exists = session.get(CartItem, (customer_id, sku_id)) is not None
    if not exists and (count or 0) >= MAX_DISTINCT_ITEMS:
        raise CartFull(data={"limit": MAX_DISTINCT_ITEMS})
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["customer_id", "sku_id"],
            set_={
                "quantity": func.min(CartItem.quantity + quantity, MAX_QUANTITY)
                if dialect == "sqlite"
                else func.least(CartItem.quantity + quantity, MAX_QUANTITY),
                "is_selected": True,
                "updated_at": now,
            },
        )
    )
    session.expire_all()


def set_quantity(
    session: Session,
    customer_id: int,
    sku_id: int,
    *,
    quantity: int | None = None,
    is_selected: bool | None = None,
) -> bool:
    """Change an item; False when it is not in the cart."""
    values: dict[str, object] = {"updated_at": clock.now()}
    if quantity is not None:
        _check_quantity(sku_id, quantity)
        values["quantity"] = quantity
    if is_selected is not None:
        values["is_selected"] = is_selected
    result = session.execute(
        update(CartItem)
        .where(CartItem.customer_id == customer_id, CartItem.sku_id == sku_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


def remove(session: Session, customer_id: int, sku_ids: list[int]) -> int:
    result = session.execute(
        delete(CartItem)
        .where(CartItem.customer_id == customer_id, CartItem.sku_id.in_(sku_ids))
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)


def lines(session: Session, customer_id: int, *, store_id: int | None = None) -> list[CartLine]:
    items = list(
        session.scalars(
            select(CartItem)
            .where(CartItem.customer_id == customer_id)
            .order_by(CartItem.added_at.desc(), CartItem.sku_id)
        )
    )
    evaluated = prices.evaluate_skus(
        session, [item.sku_id for item in items], channel=SalesChannel.MALL, store_id=store_id
    )
    result = []
    for item in items:
        outcome = evaluated.get(item.sku_id, "not_found")
        sku = outcome if isinstance(outcome, prices.SellableSku) else None
        reason = outcome if isinstance(outcome, str) else None
        result.append(CartLine(item.sku_id, item.quantity, item.is_selected, sku, reason))
    return result


def clear_ordered(session: Session, customer_id: int, sku_ids: list[int]) -> None:
    """After checkout from the cart, the ordered items leave it."""
    remove(session, customer_id, sku_ids)
