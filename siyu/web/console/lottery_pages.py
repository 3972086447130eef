"""Console pages for the lottery (抽奖) at /console/campaigns/lottery.

The list with live counters; "new" (the campaign's fields, the rules and up to
``PRIZE_ROWS`` prize rows — rows without a name are skipped); and the monitor: the
prize table with live stock and recent draws (htmx refresh every 5 s), the rules
form, restocking, and the campaign's share poster. Needs ``campaigns.manage``; every
write goes through ``siyu.campaigns.lottery.setup``. Forms post and redirect.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from siyu.campaigns.lottery import reads, setup
from siyu.campaigns.lottery.schemas import LotteryIn, LotteryUpdate, PrizeIn
from siyu.campaigns.registry.schemas import CampaignFields
from siyu.core.errors import SiyuError
from siyu.core.http import SessionDep
from siyu.models.campaign import LifecycleStage
from siyu.models.lottery import PrizeKind
from siyu.web.console.campaign_forms import ManagePage, optional_moment, optional_number
from siyu.web.console.deps import ConsolePage
from siyu.web.console.errors import error_message
from siyu.web.console.staff_pages import attempt

router = APIRouter()
BASE = "/console/campaigns/lottery"
ACTIVE = "campaigns"
PRIZE_ROWS = 6
DONE_KEYS = {"created", "saved", "restocked"}
Text = Annotated[str, Form(max_length=2000)]
Texts = Annotated[list[str], Form()]


@router.get(BASE)
def lottery_list(page: ManagePage, session: SessionDep) -> HTMLResponse:
    rows = reads.list_lotteries(session)
    figures = reads.counters(session, [campaign.id for campaign, _lottery in rows])
    return page.render(
        "lottery/list.html",
        active=ACTIVE,
        rows=[
            reads.lottery_out(session, campaign, lottery, figures.get(campaign.id, {}))
            for campaign, lottery in rows
        ],
    )


def _new_page(
    page: ConsolePage, values: dict[str, Any], error: str | None = None, status: int = 200
) -> HTMLResponse:
    return page.render(
        "lottery/new.html",
        active=ACTIVE,
        status=status,
        values=values,
        error=error,
        stages=[stage.value for stage in LifecycleStage],
        kinds=[kind.value for kind in PrizeKind],
        rows=PRIZE_ROWS,
    )


@router.get(BASE + "/new")
def lottery_new(page: ManagePage) -> HTMLResponse:
    return _new_page(page, {"chances_per_day": "1", "member_day_extra_chances": "0"})


def _prizes(
    names: list[str], kinds: list[str], odds: list[str], stocks: list[str], rewards: list[str]
) -> list[PrizeIn]:
    """One PrizeIn per named row; the reward column is the coupon template id, the
    points or the SKU id, depending on the kind."""
    prizes = []
    for index, name in enumerate(names):
        if not name.strip():
            continue
        kind = kinds[index] if index < len(kinds) else PrizeKind.THANKS.value
        reward = optional_number(rewards[index]) if index < len(rewards) else None
        prizes.append(
            PrizeIn(
                name=name.strip(),
                kind=PrizeKind(kind),
                probability=optional_number(odds[index]) if index < len(odds) else 0,
                stock=(optional_number(stocks[index]) if index < len(stocks) else 0) or 0,
                coupon_template_id=reward if kind == PrizeKind.COUPON else None,
                points_amount=reward if kind == PrizeKind.POINTS else None,
                sku_id=reward if kind == PrizeKind.GOODS else None,
            )
        )
    return prizes


@router.post(BASE + "/new")
def lottery_create(
    page: ManagePage,
    session: SessionDep,
    name: Text = "",
    description: Text = "",
    lifecycle_stage: Text = "retain",
    starts_at: Text = "",
    ends_at: Text = "",
    publish: Text = "",
    chances_per_day: Text = "1",
    member_day_extra_chances: Text = "0",
    points_cost: Text = "0",
    prize_name: Texts = [],  # noqa: B006  (FastAPI copies form defaults)
    prize_kind: Texts = [],  # noqa: B006
    prize_probability: Texts = [],  # noqa: B006
    prize_stock: Texts = [],  # noqa: B006
    prize_reward: Texts = [],  # noqa: B006
) -> Response:
    values: dict[str, Any] = {
        key: value for key, value in locals().items() if key not in ("page", "session")
    }
    try:
        body = LotteryIn(
            campaign=CampaignFields(
                name=name.strip(),
                description=description.strip(),
                lifecycle_stage=LifecycleStage(lifecycle_stage),
                starts_at=optional_moment(starts_at),
                ends_at=optional_moment(ends_at),
            ),
            publish=bool(publish),
            chances_per_day=optional_number(chances_per_day) or 0,
            member_day_extra_chances=optional_number(member_day_extra_chances) or 0,
            points_cost=optional_number(points_cost) or 0,
            prizes=_prizes(prize_name, prize_kind, prize_probability, prize_stock, prize_reward),
        )
    except (ValidationError, ValueError) as invalid:
        return _new_page(
            page, values, page.t("lottery.invalid_form", detail=str(invalid)[:300]), 422
        )
    outcome = attempt(session, lambda: setup.create(session, page.principal, body))
    if isinstance(outcome, SiyuError):
        return _new_page(page, values, error_message(page.t, outcome), outcome.status)
    campaign, _lottery = outcome
    return RedirectResponse(f"{BASE}/{campaign.public_id}?done=created", status_code=303)


def _monitor(
    page: ConsolePage,
    session: Session,
    public_id: str,
    *,
    template: str = "lottery/detail.html",
    flash: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    campaign, lottery = setup.find(session, public_id)
    return page.render(
        template,
        active=ACTIVE,
        status=status,
        lottery=reads.lottery_out(session, campaign, lottery),
        draws=[reads.draw_out(row) for row in reads.recent_draws(session, campaign.id, limit=30)],
        flash=flash,
        error=error,
    )


@router.get(BASE + "/{public_id}")
def lottery_detail(
    public_id: str, page: ManagePage, session: SessionDep, done: str = ""
) -> HTMLResponse:
    flash = page.t(f"lottery.done.{done}") if done in DONE_KEYS else None
    return _monitor(page, session, public_id, flash=flash)


@router.get(BASE + "/{public_id}/live")
def lottery_live(public_id: str, page: ManagePage, session: SessionDep) -> HTMLResponse:
    """Counters, prize table and recent draws alone, for the htmx refresh."""
    return _monitor(page, session, public_id, template="lottery/_live.html")


@router.post(BASE + "/{public_id}/rules")
def lottery_rules(
    public_id: str,
    page: ManagePage,
    session: SessionDep,
    chances_per_day: Text = "",
    member_day_extra_chances: Text = "",
    points_cost: Text = "",
    claim_days: Text = "",
) -> Response:
    campaign, lottery = setup.find(session, public_id)
    try:
        body = LotteryUpdate(
            chances_per_day=optional_number(chances_per_day) or 0,
            member_day_extra_chances=optional_number(member_day_extra_chances) or 0,
            points_cost=optional_number(points_cost) or 0,
            claim_days=optional_number(claim_days) or 0,
        )
    except ValidationError as invalid:
        message = page.t("lottery.invalid_form", detail=str(invalid)[:300])
        return _monitor(page, session, public_id, error=message, status=422)
    outcome = attempt(
        session, lambda: setup.update_lottery(session, page.principal, campaign, lottery, body)
    )
    if isinstance(outcome, SiyuError):
        message = error_message(page.t, outcome)
        return _monitor(page, session, public_id, error=message, status=outcome.status)
    return RedirectResponse(f"{BASE}/{public_id}?done=saved", status_code=303)


@router.post(BASE + "/{public_id}/prizes/{prize_id}/restock")
def lottery_restock(
    public_id: str, prize_id: int, page: ManagePage, session: SessionDep, quantity: Text = ""
) -> Response:
    campaign, lottery = setup.find(session, public_id)
    amount = optional_number(quantity)
    if not amount:
        message = page.t("lottery.restock_invalid")
        return _monitor(page, session, public_id, error=message, status=422)
    outcome = attempt(
        session,
        lambda: setup.restock(session, page.principal, campaign, lottery, prize_id, amount),
    )
    if isinstance(outcome, SiyuError):
        message = error_message(page.t, outcome)
        return _monitor(page, session, public_id, error=message, status=outcome.status)
    return RedirectResponse(f"{BASE}/{public_id}?done=restocked", status_code=303)
