"""The demo brand's venues, staff, catalog and customers look like a real brand's."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.core import security
from siyu.core.clock import FrozenClock
from siyu.core.crypto import PiiCipher
from siyu.core.settings import Settings
from siyu.customers.kinds import normalise
from siyu.models.catalog import Category, Product, Sku, StorePrice
from siyu.models.channel_code import ChannelCode, ChannelCodeVisit
from siyu.models.customer import Customer, CustomerIdentity, IdentityKind
from siyu.models.location import Location
from siyu.models.order import CartItem
from siyu.models.staff import Staff, StaffRole
from siyu.models.tracking import TrackedEvent
from tests.demo.conftest import SMALL_CUSTOMERS, small_brand


def count(session: Session, model: type) -> int:
    return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def test_venues_and_staff(
    session: Session, test_settings: Settings, frozen_clock: FrozenClock
) -> None:
    small_brand(session, test_settings)
    locations = session.scalars(select(Location).order_by(Location.id)).all()
    stores = [location for location in locations if location.kind == "store"]
    warehouses = [location for location in locations if location.kind == "warehouse"]
    assert len(stores) == 5
    assert len(warehouses) == 1
    assert all(store.accepts_pickup and not store.ships_online for store in stores)
    assert warehouses[0].ships_online
    assert not warehouses[0].accepts_pickup
    guides = session.scalars(
        select(Staff)
        .join(StaffRole, StaffRole.staff_id == Staff.id)
        .where(StaffRole.role == "guide")
    ).all()
    assert len(guides) == 20
    assert {guide.store_id for guide in guides} == {store.id for store in stores}
    assert Counter(guide.store_id for guide in guides) == {store.id: 4 for store in stores}
    # Nobody can sign in as a generated account: the password is random and discarded.
    assert all(
        guide.password_hash and guide.password_hash.startswith("$argon2") for guide in guides
    )
    assert not security.verify_password(guides[0].password_hash, "")
    kinds = set(session.scalars(select(ChannelCode.kind)).all())
    assert {"store_poster", "parcel_card", "xiaohongshu", "douyin", "ad", "guide"} <= kinds


def test_catalog(session: Session, test_settings: Settings, frozen_clock: FrozenClock) -> None:
    small_brand(session, test_settings)
    names = set(session.scalars(select(Category.name)).all())
    assert {"口红", "底妆", "护肤", "香水", "个护"} <= names
    skus = count(session, Sku)
    assert 180 <= skus <= 260
    per_product = session.execute(
        select(Sku.product_id, func.count()).group_by(Sku.product_id)
    ).all()
    assert len(per_product) == count(session, Product)
    assert all(1 <= n <= 6 for _product, n in per_product)
    channels = Counter(tuple(channels) for channels in session.scalars(select(Sku.channels)))
    assert channels[("mall",)] > 0
    assert channels[("store",)] > 0
    assert channels[("mall", "store")] > 0
    assert count(session, StorePrice) > 0
    statuses = set(session.scalars(select(Product.status)).all())
    assert "on_sale" in statuses


def test_customers_identities_and_attribution(
    session: Session, test_settings: Settings, frozen_clock: FrozenClock
) -> None:
    small_brand(session, test_settings)
    assert count(session, Customer) == SMALL_CUSTOMERS
    assert count(session, ChannelCodeVisit) == SMALL_CUSTOMERS
    without_identity = session.execute(
        select(func.count())
        .select_from(Customer)
        .where(~Customer.id.in_(select(CustomerIdentity.customer_id)))
    ).scalar_one()
    assert without_identity == 0
    customers = session.scalars(select(Customer)).all()
    assert all(
        customer.first_touch_channel_code_id is not None
        and customer.first_touch_at is not None
        and customer.first_touch_at <= frozen_clock.now()
        for customer in customers
    )
    assert any(customer.guide_id is not None for customer in customers)
    assert any(customer.store_id is not None for customer in customers)
    # Phones are stored exactly as `identify` stores them: encrypted, keyed by hash.
    cipher = PiiCipher(test_settings.resolved_secret_key())
    phones = session.scalars(
        select(CustomerIdentity).where(CustomerIdentity.kind == IdentityKind.PHONE)
    ).all()
    assert phones
    for identity in phones[:20]:
        assert identity.value is None
        assert identity.encrypted_value is not None
        phone = cipher.decrypt(identity.encrypted_value, context="phone")
        assert normalise(cipher, IdentityKind.PHONE, phone).key.lookup_key == identity.lookup_key
    openids = session.scalars(
        select(CustomerIdentity.namespace).where(CustomerIdentity.kind == IdentityKind.MP_OPENID)
    ).all()
    assert len(openids) > SMALL_CUSTOMERS // 2
    types = set(session.scalars(select(TrackedEvent.type)).all())
    assert {"page_view", "product_view", "add_to_cart", "checkout_start", "order_paid"} <= types
    assert count(session, CartItem) > 0
