"""Console pages of the lottery: list, create from the form, monitor, rules, restock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core.clock import FrozenClock
from siyu.models.campaign import Campaign
from siyu.models.lottery import Lottery, LotteryPrize
from siyu.models.staff import Role
from tests.campaigns.lottery.factories import coupon_prize, make_lottery
from tests.factories import DEFAULT_PASSWORD, make_staff
from tests.members.mall_factories import make_template
from tests.web.console_helpers import sign_in

pytestmark = pytest.mark.usefixtures("frozen_clock", "settings")

BASE = "/console/campaigns/lottery"


def _sign_in(api: TestClient, session: Session, role: Role = Role.OPERATOR) -> str:
    staff = make_staff(session, roles=[role])
    return sign_in(api, staff.username, DEFAULT_PASSWORD)


def test_pages_need_campaigns_manage(api: TestClient, session: Session) -> None:
    assert api.get(BASE, follow_redirects=False).status_code in (302, 303, 401)
    _sign_in(api, session, Role.ANALYST)
    assert api.get(BASE).status_code == 403
    assert api.get(BASE + "/new").status_code == 403


def test_create_from_the_form_then_monitor(
    api: TestClient, session: Session, frozen_clock: FrozenClock
) -> None:
    template = make_template(session)
    token = _sign_in(api, session)
    assert "新建抽奖" in api.get(BASE + "/new").text
    starts = (frozen_clock.now() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    ends = (frozen_clock.now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    form = {
        "csrf_token": token,
        "name": "会员日大转盘",
        "lifecycle_stage": "retain",
        "starts_at": starts,
        "ends_at": ends,
        "publish": "1",
        "chances_per_day": "2",
        "member_day_extra_chances": "1",
        "points_cost": "0",
        "prize_name": ["10 元券", "50 积分", ""],
        "prize_kind": ["coupon", "points", "thanks"],
        "prize_probability": ["1000", "2000", ""],
        "prize_stock": ["10", "20", ""],
        "prize_reward": [str(template.id), "50", ""],
    }
    refused = api.post(BASE + "/new", data={**form, "prize_probability": ["9000", "2000", ""]})
    assert refused.status_code == 422
    assert "抽奖设置有误" in refused.text
    assert session.scalar(select(Campaign.id)) is None
    created = api.post(BASE + "/new", data=form, follow_redirects=False)
    assert created.status_code == 303
    campaign = session.scalars(select(Campaign)).one()
    assert created.headers["location"] == f"{BASE}/{campaign.public_id}?done=created"
    lottery = session.scalars(select(Lottery)).one()
    assert (lottery.chances_per_day, lottery.member_day_extra_chances) == (2, 1)
    prizes = session.scalars(select(LotteryPrize).order_by(LotteryPrize.position)).all()
    assert [(p.name, p.kind, p.probability, p.stock_left) for p in prizes] == [
        ("10 元券", "coupon", 1000, 10),
        ("50 积分", "points", 2000, 20),
    ]
    detail = api.get(created.headers["location"])
    assert "抽奖已创建" in detail.text
    assert "70.00%" in detail.text
    assert f"/api/v1/posters/campaign/{campaign.public_id}.png" in detail.text
    assert "会员日大转盘" in api.get(BASE).text
    saved = api.post(
        f"{BASE}/{campaign.public_id}/rules",
        data={
            "csrf_token": token,
            "chances_per_day": "3",
            "member_day_extra_chances": "0",
            "points_cost": "5",
            "claim_days": "7",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    session.refresh(lottery)
    assert (lottery.chances_per_day, lottery.points_cost) == (3, 5)
    restocked = api.post(
        f"{BASE}/{campaign.public_id}/prizes/{prizes[0].id}/restock",
        data={"csrf_token": token, "quantity": "5"},
        follow_redirects=False,
    )
    assert restocked.status_code == 303
    live = api.get(f"{BASE}/{campaign.public_id}/live")
    assert 'data-stat="stock_left">15 / 15' in live.text


def test_monitor_shows_recent_draws(api: TestClient, session: Session) -> None:
    from siyu.campaigns.lottery import draws
    from tests.customers.factories import make_cipher
    from tests.members.mall_factories import make_member

    template = make_template(session)
    campaign, _lottery = make_lottery(
        session, prizes=[coupon_prize(template.id, probability=0, stock=3)]
    )
    member = make_member(session, make_cipher())
    row = draws.draw(session, campaign, member.id).draw
    _sign_in(api, session)
    live = api.get(f"{BASE}/{campaign.public_id}/live")
    assert f'data-draw="{row.public_id}" data-outcome="thanks"' in live.text
    assert api.get(f"{BASE}/cmp_missing").status_code == 404
