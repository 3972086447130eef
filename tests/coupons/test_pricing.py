"""The coupon pricing step: exact fen for every kind, scope, campaign and locked lines,
thresholds, the percent cap, gifts, free shipping, suggestions and refusals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from siyu.core import clock
from siyu.core.errors import SiyuError
from siyu.core.settings import Settings
from siyu.models.catalog import SalesChannel
from siyu.models.coupon import CouponKind, CouponScope, CouponStatus
from siyu.models.order import Fulfilment
from siyu.orders import checkout
from siyu.orders.pricing import pipeline
from tests.catalog.factories import make_category, make_product, make_sku, put_stock
from tests.coupons.factories import checkout_input, give, make_template
from tests.customers.factories import make_cipher, make_customer
from tests.orders.factories import Shelf, make_shelf


@pytest.fixture
def shelf(session: Session) -> Shelf:
    return make_shelf(session)  # SKUs at 129.00 and 59.00


@pytest.fixture
def customer_id(session: Session) -> int:
    return make_customer(session, make_cipher()).id


def quote(
    session: Session, settings: Settings, customer_id: int, request: checkout.CheckoutInput
) -> pipeline.PricingResult:
    return checkout.quote(session, customer_id, request, settings)


def test_threshold_coupon_takes_its_amount_at_or_above_the_threshold(
    session: Session, settings: Settings, shelf: Shelf, customer_id: int
) -> None:
    template = make_template(session, threshold_amount=20000, discount_amount=3000)
    coupon = give(session, template, customer_id)
    sku = shelf.skus[0].id
    result = quote(
        session, settings, customer_id, checkout_input((sku, 2), coupon_code=coupon.code)
    )
    assert (result.items_amount, result.discount_amount, result.total_amount) == (
        25800,
        3000,
        22800,
    )
    details = result.details["coupon"]
    assert details["applied"]["code"] == coupon.code
    assert details["applied"]["discount"] == 3000
    # One unit (129.00) is below the threshold: listed as unavailable with the shortfall.
    below = quote(session, settings, customer_id, checkout_input((sku, 1)))
    assert below.details["coupon"]["applicable"] == []
    assert below.details["coupon"]["unavailable"][0]["reason"] == "below_threshold"
    assert below.details["coupon"]["unavailable"][0]["shortfall"] == 20000 - 12900
    with pytest.raises(SiyuError) as refused:
        quote(session, settings, customer_id, checkout_input((sku, 1), coupon_code=coupon.code))
    assert (refused.value.status, refused.value.code) == (422, "coupon.not_applicable")


def test_percent_off_rounds_the_discount_down_and_respects_the_cap(
    session: Session, settings: Settings, shelf: Shelf, customer_id: int
) -> None:
    template = make_template(
        session,
        kind=CouponKind.PERCENT_OFF,
        threshold_amount=0,
        discount_amount=0,
        discount_rate=8750,
        max_discount_amount=5000,
    )
    coupon = give(session, template, customer_id)
    sku = shelf.skus[0].id
    # 129.00 × 87.5% = 112.875 → the buyer pays 112.88, so 16.12 off.
    one = quote(session, settings, customer_id, checkout_input((sku, 1), coupon_code=coupon.code))
    assert (one.discount_amount, one.total_amount) == (1612, 11288)
    # 387.00 × 12.5% = 48.375 → 48.37 off; four units would be 64.50, capped at 50.00.
    three = quote(session, settings, customer_id, checkout_input((sku, 3), coupon_code=coupon.code))
    assert three.discount_amount == 4837
    four = quote(session, settings, customer_id, checkout_input((sku, 4), coupon_code=coupon.code))
    assert (four.discount_amount, four.total_amount) == (5000, 51600 - 5000)


def test_no_threshold_coupon_and_shipping_still_charged(
    session: Session, settings: Settings, shelf: Shelf, customer_id: int
) -> None:
    template = make_template(
        session, kind=CouponKind.NO_THRESHOLD, threshold_amount=0, discount_amount=1000
    )
    coupon = give(session, template, customer_id)
    result = quote(
        session,
        settings,
        customer_id,
        checkout_input((shelf.skus[1].id, 1), coupon_code=coupon.code),
    )
    # 59.00 − 10.00 = 49.00, below the 99.00 free-shipping threshold: 10.00 shipping.
    assert (result.discount_amount, result.shipping_amount, result.total_amount) == (
        1000,
        1000,
        5900,
    )


def test_gift_coupon_makes_one_unit_of_the_gift_free(
    session: Session, settings: Settings, shelf: Shelf, customer_id: int
) -> None:
    gift_sku = shelf.skus[1]
    template = make_template(
        session,
        kind=CouponKind.GIFT,
        threshold_amount=0,
        discount_amount=0,
        gift_sku_id=gift_sku.id,
    )
    coupon = give(session, template, customer_id)
    request = checkout_input((shelf.skus[0].id, 1), (gift_sku.id, 2), coupon_code=coupon.code)
    result = quote(session, settings, customer_id, request)
    assert (result.items_amount, result.discount_amount, result.total_amount) == (
        12900 + 11800,
        5900,
        12900 + 5900,
    )
    gift_line = next(line for line in result.lines if line.sku.sku_id == gift_sku.id)
    assert gift_line.discount_amount == 5900
    without = quote(session, settings, customer_id, checkout_input((shelf.skus[0].id, 1)))
    assert without.details["coupon"]["unavailable"][0]["reason"] == "gift_not_in_order"


def test_free_shipping_coupon_waives_the_fee_for_delivery_only(
    session: Session, settings: Settings, shelf: Shelf, customer_id: int
) -> None:
    template = make_template(
        session, kind=CouponKind.FREE_SHIPPING, threshold_amount=0, discount_amount=0
    )
    coupon = give(session, template, customer_id)
    sku = shelf.skus[1].id
    plain = quote(session, settings, customer_id, checkout_input((sku, 1)))
    assert (plain.shipping_amount, plain.total_amount) == (1000, 6900)
    assert plain.details["coupon"]["suggested"]["discount"] == 1000
    free = quote(session, settings, customer_id, checkout_input((sku, 1), coupon_code=coupon.code))
    assert (free.shipping_amount, free.discount_amount, free.total_amount) == (0, 0, 5900)
    pickup = checkout_input((sku, 1), fulfilment=Fulfilment.PICKUP, pickup_store_id=shelf.store.id)
    picked = quote(session, settings, customer_id, pickup)
    assert picked.details["coupon"]["unavailable"][0]["reason"] == "no_shipping_fee"


def test_category_scope_includes_sub_categories_and_only_discounts_their_lines(
    session: Session, settings: Settings, shelf: Shelf, customer_id: int
) -> None:
    makeup = make_category(session, name="彩妆")
    lipstick = make_category(session, name="唇部", parent_id=makeup.id)
    skincare = make_category(session, name="护肤")
    in_scope = make_sku(
        session,
        product=make_product(session, category_id=lipstick.id),
        sale_price=12900,
        list_price=15900,
    )
    outside = make_sku(
        session,
        product=make_product(session, category_id=skincare.id),
        sale_price=10000,
        list_price=12000,
    )
    for sku in (in_scope, outside):
        put_stock(session, sku=sku, location=shelf.warehouse, quantity=10)
    threshold = make_template(
        session, scope=CouponScope.CATEGORIES, scope_ids=[makeup.id], threshold_amount=20000
    )
    flat = make_template(
        session,
        kind=CouponKind.NO_THRESHOLD,
        threshold_amount=0,
        discount_amount=1000,
        scope=CouponScope.CATEGORIES,
        scope_ids=[makeup.id],
    )
    threshold_coupon = give(session, threshold, customer_id)
    flat_coupon = give(session, flat, customer_id)
    items = ((in_scope.id, 1), (outside.id, 1))
    result = quote(session, settings, customer_id, checkout_input(*items))
    # The order is 229.00 but only 129.00 of it is in scope: 71.00 short of 200.00.
    unavailable = {row["code"]: row for row in result.details["coupon"]["unavailable"]}
    assert unavailable[threshold_coupon.code]["shortfall"] == 7100
    applied = quote(
        session, settings, customer_id, checkout_input(*items, coupon_code=flat_coupon.code)
    )
    discounts = {line.sku.sku_id: line.discount_amount for line in applied.lines}
    assert discounts == {in_scope.id: 1000, outside.id: 0}


def test_product_and_store_scopes(
    session: Session, settings: Settings, shelf: Shelf, customer_id: int
) -> None:
    product_id = shelf.skus[0].product_id
    by_product = make_template(
        session,
        kind=CouponKind.NO_THRESHOLD,
        threshold_amount=0,
        discount_amount=500,
        scope=CouponScope.PRODUCTS,
        scope_ids=[product_id + 1000],
    )
    at_store = make_template(
        session,
        kind=CouponKind.NO_THRESHOLD,
        threshold_amount=0,
        discount_amount=700,
        scope=CouponScope.STORES,
        scope_ids=[shelf.store.id],
    )
    product_coupon = give(session, by_product, customer_id)
    store_coupon = give(session, at_store, customer_id)
    sku = shelf.skus[0].id
    delivery = quote(session, settings, customer_id, checkout_input((sku, 1)))
    reasons = {row["code"]: row["reason"] for row in delivery.details["coupon"]["unavailable"]}
    assert reasons == {product_coupon.code: "scope", store_coupon.code: "scope"}
    pickup = quote(
        session,
        settings,
        customer_id,
        checkout_input(
            (sku, 1),
            fulfilment=Fulfilment.PICKUP,
            pickup_store_id=shelf.store.id,
            coupon_code=store_coupon.code,
        ),
    )
    assert pickup.discount_amount == 700


def _run_with_line_flags(
    session: Session,
    settings: Settings,
    customer_id: int,
    request: checkout.CheckoutInput,
    *,
    campaign_line: int | None = None,
    locked_line: int | None = None,
) -> pipeline.PricingResult:
    context = checkout.build_context(session, customer_id, request, settings)
    for line in context.lines:
        if line.line_no == campaign_line:
            line.campaign_id = 77
        if line.line_no == locked_line:
            line.price_locked = True
    return pipeline.run(session, context)


def test_campaign_lines_only_when_the_template_allows_and_locked_lines_never(
    session: Session, settings: Settings, shelf: Shelf, customer_id: int
) -> None:
    strict = make_template(
        session, kind=CouponKind.NO_THRESHOLD, threshold_amount=0, discount_amount=2000
    )
    lenient = make_template(
        session,
        kind=CouponKind.NO_THRESHOLD,
        threshold_amount=0,
        discount_amount=2000,
        allow_on_campaign_price=True,
    )
    strict_coupon = give(session, strict, customer_id)
    lenient_coupon = give(session, lenient, customer_id)
    items = ((shelf.skus[0].id, 1), (shelf.skus[1].id, 1))
    strict_result = _run_with_line_flags(
        session,
        settings,
        customer_id,
        checkout_input(*items, coupon_code=strict_coupon.code),
        campaign_line=1,
    )
    assert [line.discount_amount for line in strict_result.lines] == [0, 2000]
    lenient_result = _run_with_line_flags(
        session,
        settings,
        customer_id,
        checkout_input(*items, coupon_code=lenient_coupon.code),
        campaign_line=1,
    )
    # Spread by what each line costs: 129.00 and 59.00 share 20.00 as 13.72 and 6.28.
    assert [line.discount_amount for line in lenient_result.lines] == [1372, 628]
    locked = _run_with_line_flags(
        session,
        settings,
        customer_id,
        checkout_input(*items, coupon_code=lenient_coupon.code),
        locked_line=1,
    )
    assert [line.discount_amount for line in locked.lines] == [0, 2000]
    only_campaign = checkout_input((shelf.skus[0].id, 1), coupon_code=strict_coupon.code)
    with pytest.raises(SiyuError) as refused:
        _run_with_line_flags(session, settings, customer_id, only_campaign, campaign_line=1)
    assert refused.value.code == "coupon.not_applicable"
    assert refused.value.data["reason"] == "scope"


def test_the_largest_discount_is_suggested_but_nothing_applies_unasked(
    session: Session, settings: Settings, shelf: Shelf, customer_id: int
) -> None:
    small = give(
        session,
        make_template(
            session, kind=CouponKind.NO_THRESHOLD, threshold_amount=0, discount_amount=500
        ),
        customer_id,
    )
    big = give(
        session, make_template(session, threshold_amount=20000, discount_amount=3000), customer_id
    )
    result = quote(session, settings, customer_id, checkout_input((shelf.skus[0].id, 2)))
    details = result.details["coupon"]
    assert details["applied"] is None
    assert details["suggested"]["code"] == big.code
    assert [row["code"] for row in details["applicable"]] == [big.code, small.code]
    assert result.discount_amount == 0


def test_channel_and_store_only_coupons(
    session: Session, settings: Settings, shelf: Shelf, customer_id: int
) -> None:
    store_only = give(
        session,
        make_template(
            session,
            kind=CouponKind.NO_THRESHOLD,
            threshold_amount=0,
            discount_amount=500,
            channels=["store"],
        ),
        customer_id,
    )
    sku = shelf.skus[0].id
    mall = quote(session, settings, customer_id, checkout_input((sku, 1)))
    assert mall.details["coupon"]["unavailable"][0]["reason"] == "channel"
    store_order = checkout_input(
        (sku, 1),
        fulfilment=Fulfilment.PICKUP,
        pickup_store_id=shelf.store.id,
        sales_channel=SalesChannel.STORE,
        store_id=shelf.store.id,
        coupon_code=store_only.code,
    )
    assert quote(session, settings, customer_id, store_order).discount_amount == 500


def test_foreign_used_and_expired_codes_are_refused(
    session: Session, settings: Settings, shelf: Shelf, customer_id: int
) -> None:
    template = make_template(
        session, kind=CouponKind.NO_THRESHOLD, threshold_amount=0, discount_amount=500
    )
    other = make_customer(session, make_cipher()).id
    foreign = give(session, template, other)
    used = give(session, template, customer_id)
    used.status = CouponStatus.USED
    expired = give(session, template, customer_id)
    expired.valid_until = clock.now() - timedelta(seconds=1)
    session.flush()
    sku = shelf.skus[0].id
    expected = {
        foreign.code: (404, "coupon.not_found"),
        used.code: (409, "coupon.already_used"),
        expired.code: (409, "coupon.expired"),
        "NOSUCHCODE": (404, "coupon.not_found"),
    }
    for code, (status, error_code) in expected.items():
        with pytest.raises(SiyuError) as refused:
            quote(session, settings, customer_id, checkout_input((sku, 1), coupon_code=code))
        assert (refused.value.status, refused.value.code) == (status, error_code)


def test_one_coupon_per_order_unless_both_templates_allow_each_other(
    session: Session, settings: Settings, shelf: Shelf, customer_id: int
) -> None:
    threshold = make_template(session, threshold_amount=20000, discount_amount=3000)
    flat = make_template(
        session, kind=CouponKind.NO_THRESHOLD, threshold_amount=0, discount_amount=1000
    )
    first, second = give(session, threshold, customer_id), give(session, flat, customer_id)
    sku = shelf.skus[0].id
    both = {"coupon_codes": [first.code, second.code]}
    with pytest.raises(SiyuError) as refused:
        quote(session, settings, customer_id, checkout_input((sku, 2), options=both))
    assert (refused.value.status, refused.value.code) == (409, "coupon.not_stackable")
    threshold.stackable_with = [CouponKind.NO_THRESHOLD.value]
    session.flush()
    # Only one side allows it: still refused.
    with pytest.raises(SiyuError):
        quote(session, settings, customer_id, checkout_input((sku, 2), options=both))
    flat.stackable_with = [CouponKind.THRESHOLD.value]
    session.flush()
    result = quote(session, settings, customer_id, checkout_input((sku, 2), options=both))
    assert [row["code"] for row in result.details["coupon"]["applied_all"]] == [
        first.code,
        second.code,
    ]
    assert result.discount_amount == 4000
