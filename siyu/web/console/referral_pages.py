"""Console pages of the referral programme (分销) at /console/campaigns/referral.

The programme list with live counters and "new"; the monitor of one programme (live
counters refreshed by htmx every 10 s, its settings and commission rules); promoters
(approve / reject / suspend / reinstate, enrol a guide); commissions; and withdrawal
review. Reading and managing needs ``campaigns.manage``; moving a withdrawal needs
``referral.payout`` (the buttons only show for those who hold it). Every write goes
through ``siyu.campaigns.referral`` services; forms post and redirect.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from siyu.campaigns.referral import (
    commissions,
    presenters,
    programme,
    promoters,
    rules,
    withdrawals,
)
from siyu.campaigns.referral.schemas import (
    ProgrammeIn,
    ProgrammeSettings,
    RuleIn,
    SettingsUpdate,
)
from siyu.campaigns.registry import service as registry
from siyu.campaigns.registry.schemas import CampaignFields
from siyu.core.errors import SiyuError
from siyu.core.http import SessionDep
from siyu.models.campaign import CampaignKind, LifecycleStage
from siyu.models.referral import (
    BindRule,
    CommissionMode,
    CommissionStatus,
    PromoterStatus,
    RuleScope,
    WithdrawalStatus,
)
from siyu.staff.permissions import Permission
from siyu.web.console.campaign_forms import ManagePage, campaign_of, optional_moment
from siyu.web.console.deps import ConsolePage
from siyu.web.console.errors import error_message
from siyu.web.console.staff_pages import attempt

router = APIRouter()
BASE = "/console/campaigns/referral"
ACTIVE = "campaigns"
DONE_KEYS = {"created", "saved", "rule_saved", "rule_removed", "reviewed", "enrolled", "moved"}
Text = Annotated[str, Form(max_length=2000)]
PROMOTER_ACTIONS = ("approve", "reject", "suspend", "reinstate")
WITHDRAWAL_ACTIONS = ("approve", "pay", "reject", "fail")


def _values(enum: type[StrEnum]) -> set[str]:
    return {member.value for member in enum}


def _flash(page: ConsolePage, done: str) -> str | None:
    return page.t(f"referral.done.{done}") if done in DONE_KEYS else None


def _number(text: str) -> int:
    text = text.strip()
    return int(text) if text.isdigit() else 0


def _fen(text: str) -> int:
    """Yuan as typed ("12.5") → fen; anything else 0 (the schema then refuses it)."""
    try:
        return round(float(text.strip() or "0") * 100)
    except ValueError:
        return 0


@router.get(BASE)
def referral_list(page: ManagePage, session: SessionDep) -> HTMLResponse:
    rows = registry.list_campaigns(session, kind=CampaignKind.REFERRAL, limit=50)
    return page.render(
        "referral/list.html",
        active=ACTIVE,
        rows=[presenters.programme_out(session, row) for row in rows],
    )


def _new_page(
    page: ConsolePage, values: dict[str, Any], error: str | None = None, status: int = 200
) -> HTMLResponse:
    return page.render(
        "referral/new.html",
        active=ACTIVE,
        status=status,
        values=values,
        error=error,
        stages=[stage.value for stage in LifecycleStage],
        bind_rules=[rule.value for rule in BindRule],
    )


@router.get(BASE + "/new")
def referral_new(page: ManagePage) -> HTMLResponse:
    return _new_page(
        page,
        {
            "lifecycle_stage": "refer",
            "bind_rule": "last",
            "bind_days": "15",
            "min_withdrawal": "1",
            "level1_rate": "500",
            "level2_rate": "100",
            "second_level_enabled": "1",
        },
    )


@router.post(BASE + "/new")
def referral_create(
    page: ManagePage,
    session: SessionDep,
    name: Text = "",
    description: Text = "",
    lifecycle_stage: Text = "refer",
    starts_at: Text = "",
    ends_at: Text = "",
    publish: Text = "",
    auto_approve: Text = "",
    bind_rule: Text = "last",
    bind_days: Text = "15",
    min_withdrawal: Text = "1",
    second_level_enabled: Text = "",
    level1_rate: Text = "0",
    level2_rate: Text = "0",
) -> Response:
    values: dict[str, Any] = {
        key: value for key, value in locals().items() if key not in ("page", "session")
    }
    try:
        body = ProgrammeIn(
            campaign=CampaignFields(
                name=name.strip(),
                description=description.strip(),
                lifecycle_stage=LifecycleStage(lifecycle_stage),
                starts_at=optional_moment(starts_at),
                ends_at=optional_moment(ends_at),
            ),
            settings=ProgrammeSettings(
                auto_approve=bool(auto_approve),
                bind_rule=BindRule(bind_rule),
                bind_days=_number(bind_days),
                min_withdrawal_amount=_fen(min_withdrawal),
                second_level_enabled=bool(second_level_enabled),
            ),
            default_rule=RuleIn(
                level1_value=_number(level1_rate), level2_value=_number(level2_rate)
            ),
            publish=bool(publish),
        )
    except (ValidationError, ValueError) as invalid:
        message = page.t("referral.invalid_form", detail=str(invalid)[:300])
        return _new_page(page, values, message, 422)
    outcome = attempt(session, lambda: programme.create(session, page.principal, body))
    if isinstance(outcome, SiyuError):
        return _new_page(page, values, error_message(page.t, outcome), outcome.status)
    return RedirectResponse(f"{BASE}/{outcome.public_id}?done=created", status_code=303)


@router.get(BASE + "/promoters")
def referral_promoters(
    page: ManagePage, session: SessionDep, status: str = "", done: str = ""
) -> HTMLResponse:
    chosen = PromoterStatus(status) if status in _values(PromoterStatus) else None
    rows = promoters.list_promoters(session, status=chosen)
    return page.render(
        "referral/promoters.html",
        active=ACTIVE,
        rows=presenters.promoters_out(session, rows),
        chosen=status,
        statuses=[value.value for value in PromoterStatus],
        flash=_flash(page, done),
        error=None,
    )


@router.post(BASE + "/promoters/guides")
def referral_enrol_guide(page: ManagePage, session: SessionDep, staff_id: Text = "") -> Response:
    outcome = attempt(
        session, lambda: promoters.enrol_guide(session, page.principal, _number(staff_id))
    )
    if isinstance(outcome, SiyuError):
        return _error_list(page, session, error_message(page.t, outcome), outcome.status)
    return RedirectResponse(f"{BASE}/promoters?done=enrolled", status_code=303)


def _error_list(page: ConsolePage, session: Session, error: str, status: int) -> HTMLResponse:
    return page.render(
        "referral/promoters.html",
        active=ACTIVE,
        status=status,
        rows=presenters.promoters_out(session, promoters.list_promoters(session)),
        statuses=[value.value for value in PromoterStatus],
        flash=None,
        error=error,
    )


@router.post(BASE + "/promoters/{public_id}/{action}")
def referral_review(
    public_id: str, action: str, page: ManagePage, session: SessionDep, note: Text = ""
) -> Response:
    if action not in PROMOTER_ACTIONS:
        return _error_list(page, session, page.t("referral.unknown_action"), 404)

    def act() -> None:
        promoter = promoters.by_public_id(session, public_id)
        promoters.review(session, page.principal, promoter, action, note=note)

    outcome = attempt(session, act)
    if isinstance(outcome, SiyuError):
        return _error_list(page, session, error_message(page.t, outcome), outcome.status)
    return RedirectResponse(f"{BASE}/promoters?done=reviewed", status_code=303)


@router.get(BASE + "/commissions")
def referral_commissions(page: ManagePage, session: SessionDep, status: str = "") -> HTMLResponse:
    chosen = CommissionStatus(status) if status in _values(CommissionStatus) else None
    rows = commissions.list_commissions(session, status=chosen)
    return page.render(
        "referral/commissions.html",
        active=ACTIVE,
        rows=presenters.commissions_out(session, rows),
        chosen=status,
        statuses=[value.value for value in CommissionStatus],
    )


def _withdrawals_page(
    page: ConsolePage,
    session: Session,
    *,
    status: str = "",
    flash: str | None = None,
    error: str | None = None,
    code: int = 200,
) -> HTMLResponse:
    chosen = WithdrawalStatus(status) if status in _values(WithdrawalStatus) else None
    rows = withdrawals.list_withdrawals(session, status=chosen)
    return page.render(
        "referral/withdrawals.html",
        active=ACTIVE,
        status=code,
        rows=presenters.withdrawals_out(session, rows),
        chosen=status,
        statuses=[value.value for value in WithdrawalStatus],
        may_pay=page.may(Permission.REFERRAL_PAYOUT),
        flash=flash,
        error=error,
    )


@router.get(BASE + "/withdrawals")
def referral_withdrawals(
    page: ManagePage, session: SessionDep, status: str = "", done: str = ""
) -> HTMLResponse:
    return _withdrawals_page(page, session, status=status, flash=_flash(page, done))


@router.post(BASE + "/withdrawals/{public_id}/{action}")
def referral_move_withdrawal(
    public_id: str,
    action: str,
    page: ManagePage,
    session: SessionDep,
    note: Text = "",
    payout_reference: Text = "",
) -> Response:
    if action not in WITHDRAWAL_ACTIONS:
        return _withdrawals_page(page, session, error=page.t("referral.unknown_action"), code=404)

    def act() -> None:
        withdrawal = withdrawals.get(session, public_id)
        if action == "approve":
            withdrawals.approve(session, page.principal, withdrawal)
        elif action == "pay":
            reference = payout_reference.strip() or withdrawal.public_id
            withdrawals.pay(session, page.principal, withdrawal, payout_reference=reference)
        elif action == "reject":
            withdrawals.reject(session, page.principal, withdrawal, note=note)
        else:
            withdrawals.fail(session, page.principal, withdrawal, note=note)

    outcome = attempt(session, act)
    if isinstance(outcome, SiyuError):
        return _withdrawals_page(
            page, session, error=error_message(page.t, outcome), code=outcome.status
        )
    return RedirectResponse(f"{BASE}/withdrawals?done=moved", status_code=303)


def _monitor(
    page: ConsolePage,
    session: Session,
    public_id: str,
    *,
    template: str = "referral/monitor.html",
    flash: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    campaign = campaign_of(session, public_id, CampaignKind.REFERRAL)
    return page.render(
        template,
        active=ACTIVE,
        status=status,
        programme=presenters.programme_out(session, campaign),
        scopes=[scope.value for scope in RuleScope],
        modes=[mode.value for mode in CommissionMode],
        bind_rules=[rule.value for rule in BindRule],
        flash=flash,
        error=error,
    )


@router.get(BASE + "/{public_id}")
def referral_monitor(
    public_id: str, page: ManagePage, session: SessionDep, done: str = ""
) -> HTMLResponse:
    return _monitor(page, session, public_id, flash=_flash(page, done))


@router.get(BASE + "/{public_id}/live")
def referral_live(public_id: str, page: ManagePage, session: SessionDep) -> HTMLResponse:
    """The counters alone, for the htmx refresh."""
    return _monitor(page, session, public_id, template="referral/_live.html")


@router.post(BASE + "/{public_id}/settings")
def referral_settings(
    public_id: str,
    page: ManagePage,
    session: SessionDep,
    auto_approve: Text = "",
    bind_rule: Text = "last",
    bind_days: Text = "",
    min_withdrawal: Text = "",
    second_level_enabled: Text = "",
) -> Response:
    campaign = campaign_of(session, public_id, CampaignKind.REFERRAL)
    try:
        body = SettingsUpdate(
            auto_approve=bool(auto_approve),
            bind_rule=BindRule(bind_rule),
            bind_days=_number(bind_days),
            min_withdrawal_amount=_fen(min_withdrawal),
            second_level_enabled=bool(second_level_enabled),
        )
    except (ValidationError, ValueError) as invalid:
        message = page.t("referral.invalid_form", detail=str(invalid)[:300])
        return _monitor(page, session, public_id, error=message, status=422)
    outcome = attempt(
        session, lambda: programme.update_settings(session, page.principal, campaign.id, body)
    )
    if isinstance(outcome, SiyuError):
        message = error_message(page.t, outcome)
        return _monitor(page, session, public_id, error=message, status=outcome.status)
    return RedirectResponse(f"{BASE}/{public_id}?done=saved", status_code=303)


@router.post(BASE + "/{public_id}/rules")
def referral_rule(
    public_id: str,
    page: ManagePage,
    session: SessionDep,
    scope: Text = "default",
    target_id: Text = "",
    mode: Text = "rate",
    level1_value: Text = "0",
    level2_value: Text = "0",
) -> Response:
    campaign = campaign_of(session, public_id, CampaignKind.REFERRAL)
    try:
        body = RuleIn(
            scope=RuleScope(scope),
            target_id=_number(target_id) or None,
            mode=CommissionMode(mode),
            level1_value=_number(level1_value),
            level2_value=_number(level2_value),
        )
    except (ValidationError, ValueError) as invalid:
        message = page.t("referral.invalid_form", detail=str(invalid)[:300])
        return _monitor(page, session, public_id, error=message, status=422)
    outcome = attempt(session, lambda: rules.put(session, page.principal, campaign.id, body))
    if isinstance(outcome, SiyuError):
        message = error_message(page.t, outcome)
        return _monitor(page, session, public_id, error=message, status=outcome.status)
    return RedirectResponse(f"{BASE}/{public_id}?done=rule_saved", status_code=303)


@router.post(BASE + "/{public_id}/rules/{rule_id}/delete")
def referral_rule_delete(
    public_id: str, rule_id: int, page: ManagePage, session: SessionDep
) -> Response:
    campaign = campaign_of(session, public_id, CampaignKind.REFERRAL)
    outcome = attempt(session, lambda: rules.remove(session, page.principal, campaign.id, rule_id))
    if isinstance(outcome, SiyuError):
        message = error_message(page.t, outcome)
        return _monitor(page, session, public_id, error=message, status=outcome.status)
    return RedirectResponse(f"{BASE}/{public_id}?done=rule_removed", status_code=303)
