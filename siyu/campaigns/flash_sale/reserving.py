"""One click, from a checked body to a kept reservation: what the FastAPI route and
the plain ASGI fast path (``fast_path``) both run, so they cannot disagree.

They differ only at the edges: the route validates the body with pydantic
(``ReserveIn``) and FastAPI renders the answer; the fast path checks the body by
hand (:func:`parse_body`: anything it is not sure of goes to the route, whose 422
is then the same) and writes prebuilt bytes (:func:`accepted_body`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from siyu.campaigns.flash_sale import orders, service
from siyu.campaigns.flash_sale.engines import ReserveRequest
from siyu.campaigns.flash_sale.errors import InvalidReservation
from siyu.campaigns.flash_sale.runtime import FlashSaleRuntime, new_request_time
from siyu.customers.sessions import CustomerSessionInvalid
from siyu.models.base import new_public_id
from siyu.models.flash_sale import StockEngine
from siyu.models.order import Fulfilment

ROW_ID_MAX = 2**63 - 1
_FIELDS = frozenset({"item_id", "quantity", "fulfilment", "pickup_store_id", "address"})
_FULFILMENTS = frozenset(item.value for item in Fulfilment)
# siyu.orders.schemas.AddressIn, by hand: (field, min length, max length).
_ADDRESS_FIELDS = (("recipient", 1, 32), ("phone", 11, 20), ("region", 2, 100), ("detail", 2, 200))
_PHONE_NOISE = re.compile(r"[\s-]")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")


@dataclass(frozen=True, slots=True)
class ReserveBody:
    """``ReserveIn`` once valid; ``address`` as ``AddressIn.model_dump()`` gives it."""

    item_id: str
    quantity: int = 1
    fulfilment: str = Fulfilment.DELIVERY.value
    pickup_store_id: int | None = None
    address: dict[str, str] | None = None


def _address(value: Any) -> dict[str, str] | None:
    if type(value) is not dict:
        return None
    address: dict[str, str] = {}
    for field, shortest, longest in _ADDRESS_FIELDS:
        text = value.get(field)
        if type(text) is not str or not shortest <= len(text) <= longest:
            return None
        address[field] = text
    phone = _PHONE_NOISE.sub("", address["phone"]).removeprefix("+86")
    if not _MOBILE.match(phone):
        return None
    address["phone"] = phone
    return address


def parse_body(raw: bytes) -> ReserveBody | None:
    """The body if ``ReserveIn`` would take it as it is, else None (the caller hands
    the request to the FastAPI route, which answers exactly as it always has). Only
    the plain JSON types count: pydantic's lax coercions ("2", 2.0) go the slow way."""
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if type(data) is not dict or not data.keys() <= _FIELDS:
        return None
    item_id = data.get("item_id")
    if type(item_id) is not str or not 1 <= len(item_id) <= 40:
        return None
    quantity = data.get("quantity", 1)
    if type(quantity) is not int or not 1 <= quantity <= 100:
        return None
    fulfilment = data.get("fulfilment", Fulfilment.DELIVERY.value)
    if type(fulfilment) is not str or fulfilment not in _FULFILMENTS:
        return None
    store = data.get("pickup_store_id")
    if store is not None and (type(store) is not int or not 1 <= store <= ROW_ID_MAX):
        return None
    address = data.get("address")
    if address is not None:
        address = _address(address)
        if address is None:
            return None
    return ReserveBody(item_id, quantity, fulfilment, store, address)


def _check(body: ReserveBody, per_customer_limit: int) -> None:
    if body.fulfilment == Fulfilment.DELIVERY and body.address is None:
        raise InvalidReservation("A delivery needs an address.", data={"field": "address"})
    if body.fulfilment == Fulfilment.PICKUP and body.pickup_store_id is None:
        raise InvalidReservation("Choose a store.", data={"field": "pickup_store_id"})
    if body.quantity > per_customer_limit:
        raise InvalidReservation(
            "More than the limit per customer.",
            data={"field": "quantity", "per_customer_limit": per_customer_limit},
        )


async def reserve(
    runtime: FlashSaleRuntime, token: str | None, ip: str | None, body: ReserveBody
) -> ReserveRequest:
    """Take the units or raise the refusal (a ``SiyuError``), having changed nothing.

    Checks in the order the route always made them: the session (401), the item
    (404), the phases (409), the body against the item (422), then abuse control
    (429) and the stock (409)."""
    customer = await runtime.customer_for(token)
    if customer is None:
        raise CustomerSessionInvalid()
    entry = await runtime.item_for(body.item_id)
    service.require_session_live(entry.campaign, entry.session)
    item = entry.item
    _check(body, item.per_customer_limit)
    engine = entry.session.stock_engine or StockEngine.DATABASE.value
    gated = engine == StockEngine.REDIS and runtime.stock is not None
    if not gated:
        await runtime.admit(customer.customer_id, ip, entry)
    try:
        request = ReserveRequest(
            public_id=new_public_id("fsr"),
            campaign_id=entry.campaign.id,
            session_id=entry.session.id,
            item_id=item.id,
            customer_id=customer.customer_id,
            quantity=body.quantity,
            unit_price=item.campaign_price,
            per_customer_limit=item.per_customer_limit,
            engine=engine,
            fulfilment=body.fulfilment,
            pickup_store_id=body.pickup_store_id,
            address_encrypted=orders.encrypt_address(runtime.cipher, body.address),
            touchpoint=customer.touchpoint,
            reserved_at=new_request_time(),
        )
    except BaseException:
        if not gated:
            await runtime.done(customer.customer_id)
        raise
    if gated:
        # Redis: the rate windows, the in-flight lock and the reserve in one script.
        await runtime.reserve_gated(request, ip, entry)
        return request
    try:
        await runtime.reserve(request)
    finally:
        await runtime.done(customer.customer_id)
    return request


def accepted_body(request: ReserveRequest, item_id: str) -> bytes:
    """``ReservationOut`` of a new reservation as FastAPI renders it (compact JSON,
    fields in the model's order)."""
    public_id = json.dumps(request.public_id, ensure_ascii=False)
    item = json.dumps(item_id, ensure_ascii=False)
    return (
        f'{{"public_id":{public_id},"status":"reserved","item_id":{item},'
        f'"quantity":{request.quantity},"unit_price":{request.unit_price},'
        '"order_public_id":null,"failure_code":null,"created_at":null}'
    ).encode()
