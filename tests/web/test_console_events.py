"""The tracked-events console page: real volumes per type, newest events, permission."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from siyu.core.clock import FrozenClock
from siyu.customers.identify import IdentityInput
from siyu.models.staff import Role
from siyu.models.tracking import TrackedEvent
from tests.customers.factories import make_cipher, make_customer
from tests.factories import DEFAULT_PASSWORD, make_staff
from tests.web.console_helpers import sign_in


def add_event(session: Session, *, customer_id: int, event_type: str, at: object) -> None:
    session.add(
        TrackedEvent(
            event_id=f"{event_type}-{at}",
            customer_id=customer_id,
            type=event_type,
            occurred_at=at,
            received_at=at,
            touchpoint="mp",
        )
    )


def test_events_page_counts_by_type(
    api: TestClient, session: Session, frozen_clock: FrozenClock
) -> None:
    make_staff(session, username="ana", roles=[Role.ANALYST])
    customer = make_customer(
        session, make_cipher(), identities=[IdentityInput("anonymous_id", "dev-1")]
    )
    now = frozen_clock.now()
    add_event(session, customer_id=customer.id, event_type="product_view", at=now)
    add_event(
        session, customer_id=customer.id, event_type="product_view", at=now - timedelta(days=3)
    )
    add_event(session, customer_id=customer.id, event_type="custom.quiz_done", at=now)
    session.flush()
    sign_in(api, "ana", DEFAULT_PASSWORD)
    html = api.get("/console/events").text
    assert "<td><code>product_view</code></td>" in html
    row = html.split("<td><code>product_view</code></td>")[1].split("</tr>")[0]
    assert '<td class="number">1</td>' in row
    assert '<td class="number">2</td>' in row
    assert "custom.quiz_done" in html
    assert "自定义事件" in html
    assert f'href="/console/customers/{customer.id}"' in html


def test_events_page_needs_analytics(api: TestClient, session: Session) -> None:
    make_staff(session, username="gina", roles=[Role.GUIDE])
    sign_in(api, "gina", DEFAULT_PASSWORD)
    assert api.get("/console/events").status_code == 403
