"""A share link's ``ref`` reaches the order: checkout resolves a customer share code or a
promoter code to the referrer; an own, unknown or malformed code is ignored or refused."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.campaigns.posters import share
from siyu.core.crypto import PiiCipher
from siyu.core.settings import Settings
from siyu.models.order import Order
from siyu.models.referral import PromoterStatus
from tests.campaigns.referral.factories import make_programme, make_promoter
from tests.coupons.factories import shop_headers
from tests.customers.factories import make_cipher, make_customer
from tests.orders.factories import ADDRESS, make_shelf


@pytest.fixture
def cipher() -> PiiCipher:
    return make_cipher()


def _order(api: TestClient, session: Session, sku_id: int, buyer: int, ref: str) -> Order:
    response = api.post(
        "/api/shop/v1/orders",
        json={"items": [{"sku_id": sku_id, "quantity": 1}], "address": ADDRESS, "ref": ref},
        headers=shop_headers(session, buyer),
    )
    assert response.status_code == 201, response.text
    return session.scalars(
        select(Order).where(Order.public_id == response.json()["public_id"])
    ).one()


def test_a_customer_share_code_names_the_referrer(
    api: TestClient, session: Session, cipher: PiiCipher, test_settings: Settings
) -> None:
    shelf = make_shelf(session)
    sharer = make_customer(session, cipher)
    buyer = make_customer(session, cipher)
    code = share.customer_code(test_settings.resolved_secret_key(), sharer.id)
    order = _order(api, session, shelf.skus[0].id, buyer.id, code)
    assert order.referrer_customer_id == sharer.id
    # The sharer buying through their own link is not their own referrer.
    own = _order(api, session, shelf.skus[0].id, sharer.id, code)
    assert own.referrer_customer_id is None
    stale = _order(api, session, shelf.skus[0].id, buyer.id, "a" * 26)
    assert stale.referrer_customer_id is None


def test_a_promoter_code_names_the_promoter(
    api: TestClient, session: Session, cipher: PiiCipher
) -> None:
    shelf = make_shelf(session)
    make_programme(session)
    promoter = make_promoter(session, cipher)
    assert promoter.status == PromoterStatus.ACTIVE
    buyer = make_customer(session, cipher)
    session.flush()
    order = _order(api, session, shelf.skus[0].id, buyer.id, promoter.code)
    assert order.referrer_customer_id == promoter.customer_id
    promoter.status = PromoterStatus.SUSPENDED
    session.flush()
    suspended = _order(api, session, shelf.skus[0].id, buyer.id, promoter.code)
    assert suspended.referrer_customer_id is None


@pytest.mark.parametrize("ref", ["a-b", "x" * 41, "ab"])
def test_a_malformed_ref_is_refused(
    api: TestClient, session: Session, cipher: PiiCipher, ref: str
) -> None:
    shelf = make_shelf(session)
    buyer = make_customer(session, cipher)
    response = api.post(
        "/api/shop/v1/orders",
        json={
            "items": [{"sku_id": shelf.skus[0].id, "quantity": 1}],
            "address": ADDRESS,
            "ref": ref,
        },
        headers=shop_headers(session, buyer.id),
    )
    assert response.status_code == 422
    assert session.scalar(select(func.count()).select_from(Order)) == 0
