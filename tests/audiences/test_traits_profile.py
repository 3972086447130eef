"""Traits on the customer 360 (API section and console panel), the merge re-pointers,
and the insights console pages' access and form errors (server side)."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.core import clock
from siyu.customers.merge import merge_customers
from siyu.models.audience import AudienceConfig, CustomerTrait, LifecycleTransition
from siyu.models.staff import Role
from tests.audiences.traits_data import make_trait, new_customers
from tests.factories import DEFAULT_PASSWORD, make_staff, make_token
from tests.web.console_helpers import sign_in


def test_profile_shows_traits_with_days_derived_at_read_time(
    api: TestClient, session: Session, frozen_clock: clock.FrozenClock
) -> None:
    now = clock.now()
    customer_id, bare_id = new_customers(session, 2, at=now)
    session.add(
        make_trait(
            customer_id,
            last_order_at=now - timedelta(days=12, hours=3),
            first_order_at=now - timedelta(days=100),
            orders_total=4,
            spend_total=123400,
            rfm_recency=5,
            rfm_frequency=4,
            rfm_monetary=3,
            rfm_group="important_value",
            aipl_stage="loyal",
            ops_stage="active",
        )
    )
    session.flush()
    admin = make_staff(session, roles=[Role.ADMIN])
    headers = {"Authorization": f"Bearer {make_token(session, admin)}"}
    section = api.get(f"/api/v1/customers/{customer_id}", headers=headers).json()["sections"][
        "traits"
    ]
    assert section["rfm_group"] == "important_value"
    assert section["orders_total"] == 4
    assert section["days_since_last_order"] == 12
    assert section["days_since_last_active"] is None
    frozen_clock.advance(timedelta(days=3))
    again = api.get(f"/api/v1/customers/{customer_id}", headers=headers).json()
    assert again["sections"]["traits"]["days_since_last_order"] == 15
    bare = api.get(f"/api/v1/customers/{bare_id}", headers=headers).json()
    assert bare["sections"]["traits"] == {}

    username = make_staff(session, roles=[Role.ADMIN]).username
    sign_in(api, username, DEFAULT_PASSWORD)
    page = api.get(f"/console/customers/{customer_id}").text
    assert 'id="customer-traits"' in page
    assert '<span class="tag" data-testid="trait-rfm-group">重要价值</span>' in page
    assert '<span class="tag" data-testid="trait-ops">活跃</span>' in page
    assert 'data-testid="trait-spend-total">¥1234.00</span>' in page
    assert "15 天前" in page
    assert 'id="no-traits"' in api.get(f"/console/customers/{bare_id}").text


def test_merge_drops_the_merged_traits_and_moves_the_transitions(session: Session) -> None:
    now = clock.now()
    survivor, merged = new_customers(session, 2, at=now)
    session.add_all(
        [
            make_trait(survivor, orders_total=1),
            make_trait(merged, orders_total=2),
            LifecycleTransition(
                customer_id=merged, model="ops", from_stage="new", to_stage="active", at=now
            ),
        ]
    )
    session.flush()
    record = merge_customers(session, "test", survivor, merged, "same person")
    assert record.moved["customer_trait"] == 1
    assert record.moved["lifecycle_transition"] == 1
    remaining = session.scalars(select(CustomerTrait.customer_id)).all()
    assert list(remaining) == [survivor]
    owners = session.scalars(select(LifecycleTransition.customer_id)).all()
    assert list(owners) == [survivor]


def test_insights_pages_need_audiences_manage_and_refuse_bad_forms(
    api: TestClient, session: Session
) -> None:
    for path in ("/console/audiences/rfm", "/console/audiences/lifecycle"):
        anonymous = api.get(path, follow_redirects=False)
        assert anonymous.status_code == 303
    analyst = make_staff(session, roles=[Role.ANALYST]).username
    sign_in(api, analyst, DEFAULT_PASSWORD)
    assert api.get("/console/audiences/rfm").status_code == 403
    assert api.get("/console/audiences/lifecycle").status_code == 403
    operator = make_staff(session, roles=[Role.OPERATOR]).username
    api.cookies.clear()
    token = sign_in(api, operator, DEFAULT_PASSWORD)
    assert api.get("/console/audiences/rfm").status_code == 200
    assert api.get("/console/audiences/lifecycle").status_code == 200
    refused = api.post(
        "/console/audiences/rfm",
        data={
            "csrf_token": token,
            "method": "thresholds",
            "split": "3",
            "recency_days": "30, 90, x, 365",
            "frequency_orders": "2, 3, 5, 8",
            "monetary_yuan": "200, 500, 1000, 3000",
        },
    )
    assert refused.status_code == 422
    assert 'id="rfm-error"' in refused.text
    refused = api.post(
        "/console/audiences/lifecycle",
        data={
            "csrf_token": token,
            "new_days": "30",
            "active_days": "20",
            "churn_days": "180",
            "interest_window_days": "30",
            "engagement_events": "product_view, DROP TABLE",
            "loyal_min_orders": "3",
            "loyal_window_days": "365",
        },
    )
    assert refused.status_code == 422
    assert 'id="lifecycle-error"' in refused.text
    assert session.scalar(select(func.count()).select_from(AudienceConfig)) == 0
