"""Request and response shapes of the orders APIs (storefront and operators)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from siyu.models.catalog import SalesChannel
from siyu.models.order import Fulfilment

_MOBILE = re.compile(r"^1[3-9]\d{9}$")


class ItemIn(BaseModel):
    sku_id: int
    quantity: int = Field(ge=-(10**6), le=10**6)


class AddressIn(BaseModel):
    recipient: str = Field(min_length=1, max_length=32)
    phone: str = Field(min_length=11, max_length=20)
    region: str = Field(min_length=2, max_length=100, description="省 市 区")
    detail: str = Field(min_length=2, max_length=200)

    @field_validator("phone")
    @classmethod
    def _mobile(cls, value: str) -> str:
        digits = re.sub(r"[\s-]", "", value).removeprefix("+86")
        if not _MOBILE.match(digits):
            raise ValueError("a mainland mobile number is expected")
        return digits


class CheckoutIn(BaseModel):
    """Items, or ``from_cart`` to order the cart's selected items."""

    items: list[ItemIn] = Field(default_factory=list, max_length=50)
    from_cart: bool = False
    fulfilment: Fulfilment = Fulfilment.DELIVERY
    pickup_store_id: int | None = None
    address: AddressIn | None = None
    note: str = Field(default="", max_length=200)
    # Share-link context: the campaign and the customer whose share brought this buyer.
    campaign_id: int | None = None
    referrer_customer_id: int | None = None
    # The ``ref`` of the share link the buyer came through (a customer share code or a
    # promoter code); resolved to the referrer. An unknown or own code is ignored: a
    # stale link must not stop a purchase.
    ref: str | None = Field(default=None, min_length=4, max_length=40, pattern=r"^[A-Za-z0-9]+$")
    channel_code: str | None = Field(default=None, max_length=30)
    store_id: int | None = None
    # A coupon the buyer chose (its code); preview suggests the best one otherwise.
    coupon_code: str | None = Field(default=None, min_length=1, max_length=24)
    # Points to spend (capped by the points rules); 0 = none.
    points: int = Field(default=0, ge=0, le=100_000_000)
    options: dict[str, Any] = Field(default_factory=dict)


class StaffCheckoutIn(CheckoutIn):
    """A guide or store staff places an order for a customer (e.g. after closing time)."""

    customer_id: int
    sales_channel: SalesChannel = SalesChannel.STORE


class AdjustmentOut(BaseModel):
    step: str
    kind: str
    amount: int
    label: str
    reference: str | None = None


class QuoteLineOut(BaseModel):
    line_no: int
    sku_id: int | None
    product_id: int | None
    product_name: str
    specs: dict[str, Any]
    image: str | None
    quantity: int
    unit_list_price: int
    unit_price: int
    base_amount: int
    discount_amount: int
    shipping_amount: int
    payable_amount: int
    price_breakdown: list[AdjustmentOut]


class QuoteOut(BaseModel):
    lines: list[QuoteLineOut]
    items_amount: int
    discount_amount: int
    shipping_amount: int
    total_amount: int
    steps: list[str]
    messages: list[str]
    # Per step, what the buyer may choose: {"coupon": {"applied", "suggested",
    # "applicable", …}, "points": {"balance", "max_points", "spent", …}}.
    details: dict[str, Any] = Field(default_factory=dict)


class OrderLineOut(QuoteLineOut):
    sku_code: str
    location_id: int | None
    refunded_quantity: int
    refunded_amount: int


class TransitionOut(BaseModel):
    from_status: str | None
    to_status: str
    actor: str
    reason: str
    created_at: datetime


class PaymentOut(BaseModel):
    public_id: str
    provider: str
    status: str
    amount: int
    provider_transaction_id: str | None
    paid_at: datetime | None
    created_at: datetime


class RefundLineOut(BaseModel):
    line_no: int
    quantity: int
    amount: int


class RefundOut(BaseModel):
    public_id: str
    order_public_id: str
    status: str
    amount: int
    reason: str
    restock: bool
    requested_by: str
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_note: str
    failure_reason: str | None
    created_at: datetime
    completed_at: datetime | None
    lines: list[RefundLineOut]


class OrderSummaryOut(BaseModel):
    public_id: str
    customer_id: int
    status: str
    source: str
    sales_channel: str
    fulfilment: str
    total_amount: int
    paid_amount: int
    refunded_amount: int
    item_count: int
    store_id: int | None
    guide_id: int | None
    touchpoint: str | None
    created_at: datetime
    paid_at: datetime | None
    payment_deadline: datetime | None
    first_item_name: str | None = None
    first_item_image: str | None = None


class OrderOut(OrderSummaryOut):
    resume_status: str | None
    pickup_location_id: int | None
    items_amount: int
    discount_amount: int
    shipping_amount: int
    pricing_steps: list[str]
    channel_code_id: int | None
    campaign_id: int | None
    referrer_customer_id: int | None
    address: dict[str, str] | None
    customer_note: str
    carrier: str | None
    tracking_number: str | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    final_at: datetime | None
    lines: list[OrderLineOut]
    transitions: list[TransitionOut]
    payments: list[PaymentOut]
    refunds: list[RefundOut]


class OrderPage(BaseModel):
    items: list[OrderSummaryOut]
    next_cursor: str | None


class PayIn(BaseModel):
    provider: str | None = Field(default=None, max_length=16)


class PayOut(BaseModel):
    payment_id: str
    provider: str
    amount: int
    client_parameters: dict[str, Any]


class PaymentStatusOut(BaseModel):
    payment_id: str
    order_public_id: str
    status: str
    amount: int
    order_status: str


class RefundItemIn(BaseModel):
    line_no: int
    quantity: int = Field(ge=-(10**6), le=10**6)


class RefundRequestIn(BaseModel):
    """``items`` None refunds everything not yet refunded."""

    items: list[RefundItemIn] | None = Field(default=None, max_length=50)
    reason: str = Field(min_length=1, max_length=200)


class StaffRefundIn(RefundRequestIn):
    amount: int | None = Field(default=None, description="fen; at most what the items cost")
    restock: bool | None = None
    approve: bool = Field(default=True, description="Approve at once (the operator's own refund).")


class RefundReviewIn(BaseModel):
    note: str = Field(default="", max_length=200)
    restock: bool | None = None


class ShipIn(BaseModel):
    carrier: str = Field(min_length=1, max_length=32)
    tracking_number: str = Field(min_length=1, max_length=64)


class CancelIn(BaseModel):
    reason: str = Field(default="customer_cancelled", min_length=1, max_length=64)


class CartItemIn(BaseModel):
    sku_id: int
    quantity: int = Field(default=1, ge=-(10**6), le=10**6)


class CartItemPatch(BaseModel):
    quantity: int | None = Field(default=None, ge=-(10**6), le=10**6)
    is_selected: bool | None = None


class CartLineOut(BaseModel):
    sku_id: int
    quantity: int
    is_selected: bool
    product_id: int | None
    product_name: str | None
    specs: dict[str, Any]
    image: str | None
    unit_price: int | None
    list_price: int | None
    amount: int
    available: bool
    unavailable_reason: str | None


class CartOut(BaseModel):
    items: list[CartLineOut]
    selected_amount: int
    selected_count: int


class NotificationOut(BaseModel):
    id: int
    provider: str
    notification_id: str
    kind: str
    event_type: str
    out_trade_no: str | None
    outcome: str
    detail: str
    is_flagged: bool
    received_at: datetime


class RefundPage(BaseModel):
    items: list[RefundOut]
    next_cursor: str | None
