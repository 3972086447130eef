"""The one-item campaign order the bargain, assist, group-buy and lottery mechanics
place through checkout (issue 6), and how the customer says where it goes.

Each mechanic decides the price and takes its own stock and status flips first, in
its savepoint; this only places the order with the ``campaign_price`` option and —
when nothing is due (a 0-yuan floor, a gift, a prize) — marks it paid at once, since
payments must be > 0 (as for the points mall's points-only orders).
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from siyu.campaigns import pricing
from siyu.campaigns.registry.schemas import RowId
from siyu.core.crypto import PiiCipher
from siyu.core.settings import Settings
from siyu.models.order import Fulfilment, Order
from siyu.orders import checkout, lifecycle
from siyu.orders.schemas import AddressIn


@dataclass(frozen=True)
class OrderRequest:
    """Where the customer wants the campaign order: delivered or picked up."""

    fulfilment: Fulfilment = Fulfilment.DELIVERY
    pickup_store_id: int | None = None
    address: dict[str, str] | None = None
    touchpoint: str | None = None


class OrderIn(BaseModel):
    """The storefront body of a campaign order (buying a bargain, claiming a gift)."""

    model_config = ConfigDict(extra="forbid")

    fulfilment: Fulfilment = Fulfilment.DELIVERY
    pickup_store_id: RowId | None = None
    address: AddressIn | None = None

    def request(self, touchpoint: str | None) -> OrderRequest:
        return OrderRequest(
            fulfilment=self.fulfilment,
            pickup_store_id=self.pickup_store_id,
            address=self.address.model_dump() if self.address else None,
            touchpoint=touchpoint,
        )


def place_one_item(
    session: Session,
    cipher: PiiCipher,
    settings: Settings,
    customer_id: int,
    *,
    option: pricing.CampaignOption,
    sku_id: int,
    request: OrderRequest,
    note: str = "",
    referrer_customer_id: int | None = None,
    paid_actor: str | None = None,
) -> Order:
    """One unit of ``sku_id`` at the option's price. With ``paid_actor`` an order with
    nothing to pay is marked paid by that actor; without it the order stays as placed."""
    order, _lines = checkout.place_order(
        session,
        cipher,
        customer_id,
        checkout.CheckoutInput(
            items=[checkout.ItemInput(sku_id, 1)],
            fulfilment=request.fulfilment,
            pickup_store_id=request.pickup_store_id,
            address=request.address,
            note=note,
            options={pricing.OPTION: option},
            attribution=checkout.Attribution(
                touchpoint=request.touchpoint,
                campaign_id=option.campaign_id,
                referrer_customer_id=referrer_customer_id,
            ),
        ),
        settings,
    )
    if paid_actor is not None and order.total_amount == 0:
        # Nothing to pay: no payment is opened (payments must be > 0).
        lifecycle.mark_paid(session, order, amount=0, actor=paid_actor)
    return order
