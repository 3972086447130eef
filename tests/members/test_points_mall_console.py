"""Console pages of the points mall and benefits: create, activate, restock, edit,
run now; analysts are refused and change nothing."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.models.job import Job
from siyu.models.member import PointsMallItem
from siyu.models.staff import Role
from tests.factories import DEFAULT_PASSWORD, make_staff
from tests.members.mall_factories import make_template
from tests.web.console_helpers import sign_in

MALL = "/console/members/points-mall"


def test_operator_creates_activates_restocks_and_edits_an_item(
    api: TestClient, session: Session
) -> None:
    make_staff(session, username="ops", roles=[Role.OPERATOR])
    token = sign_in(api, "ops", DEFAULT_PASSWORD)
    template = make_template(session)
    assert "还没有兑换商品" in api.get(MALL).text

    form = {
        "csrf_token": token,
        "kind": "coupon",
        "name": "10 元无门槛券",
        "coupon_template_id": str(template.id),
        "points_price": "500",
        "cash_yuan": "0",
        "stock_total": "20",
        "per_member_limit": "1",
    }
    bad = api.post(MALL, data={**form, "cash_yuan": "1.234"})
    assert bad.status_code == 422
    assert 'data-field="cash_yuan"' in bad.text
    assert session.scalar(select(func.count()).select_from(PointsMallItem)) == 0

    created = api.post(MALL, data=form, follow_redirects=False)
    assert created.status_code == 303
    item = session.scalars(select(PointsMallItem)).one()
    assert (item.name, item.points_price, item.stock_left, item.status) == (
        "10 元无门槛券",
        500,
        20,
        "draft",
    )
    api.post(f"{MALL}/{item.id}/activate", data={"csrf_token": token})
    api.post(f"{MALL}/{item.id}/restock", data={"csrf_token": token, "quantity": "5"})
    session.refresh(item)
    assert (item.status, item.stock_left, item.stock_total) == ("active", 25, 25)
    listed = api.get(MALL).text
    assert "兑换中" in listed
    assert "25 / 25" in listed

    edit = api.get(f"{MALL}/{item.id}")
    assert edit.status_code == 200
    saved = api.post(
        f"{MALL}/{item.id}",
        data={**form, "name": "10 元券（新）", "points_price": "450"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    session.refresh(item)
    assert (item.name, item.points_price) == ("10 元券（新）", 450)


def test_benefits_page_runs_now_and_analysts_are_refused(api: TestClient, session: Session) -> None:
    make_staff(session, username="ana", roles=[Role.ANALYST])
    token = sign_in(api, "ana", DEFAULT_PASSWORD)
    assert api.get("/console/members/benefits").status_code == 403
    assert api.post(MALL, data={"csrf_token": token, "name": "x"}).status_code == 403
    assert session.scalar(select(func.count()).select_from(PointsMallItem)) == 0
    api.post("/console/logout", data={"csrf_token": token})

    make_staff(session, username="ops", roles=[Role.OPERATOR])
    token = sign_in(api, "ops", DEFAULT_PASSWORD)
    page = api.get("/console/members/benefits")
    assert page.status_code == 200
    assert "还没有发放记录" in page.text
    ran = api.post("/console/members/benefits/run", data={"csrf_token": token})
    assert ran.status_code == 200
    assert "已加入队列" in ran.text
    assert (
        session.scalar(
            select(func.count()).select_from(Job).where(Job.task == "members.daily_benefits")
        )
        == 1
    )
