"""Console pages for the points mall (积分商城) and member benefits.

``/console/members/points-mall``: items (create, edit, activate, take off, restock)
and recent exchanges; ``/console/members/benefits``: grants given and "run now".
Everything needs ``members.manage``; writes go through the services (rules and audit
rows live there). Forms post and redirect, so the pages work without JavaScript.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from siyu.core.errors import SiyuError
from siyu.core.http import SessionDep
from siyu.core.settings import current as current_settings
from siyu.members import benefits, benefits_tasks, points_mall, points_mall_exchange
from siyu.members.points_mall_schemas import ItemIn, ItemUpdate
from siyu.models.member import BenefitKind, PointsMallItem, PointsMallItemKind
from siyu.staff import audit
from siyu.staff.permissions import Permission
from siyu.web.console.deps import ConsolePage, page_requiring
from siyu.web.console.errors import error_message
from siyu.web.console.staff_pages import attempt

router = APIRouter()

ManagePage = Annotated[ConsolePage, Depends(page_requiring(Permission.MEMBERS_MANAGE))]
MALL_PATH = "/console/members/points-mall"
BENEFITS_PATH = "/console/members/benefits"
ACTIVE = "members"
FIELDS = (
    "name",
    "sku_id",
    "coupon_template_id",
    "points_price",
    "cash_yuan",
    "stock_total",
    "per_member_limit",
    "min_tier_rank",
    "sort",
    "valid_from",
    "valid_until",
    "image",
    "description",
)


@dataclass
class ItemForm:
    kind: str = PointsMallItemKind.COUPON.value
    values: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    error_field: str | None = None

    def get(self, name: str) -> str:
        return self.values.get(name, "")


def _local_input(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(current_settings().tzinfo).strftime("%Y-%m-%dT%H:%M")


def form_of(item: PointsMallItem) -> ItemForm:
    values = {
        "name": item.name,
        "sku_id": str(item.sku_id or ""),
        "coupon_template_id": str(item.coupon_template_id or ""),
        "points_price": str(item.points_price),
        "cash_yuan": f"{item.cash_price / 100:.2f}",
        "stock_total": str(item.stock_total),
        "per_member_limit": str(item.per_member_limit or ""),
        "min_tier_rank": "" if item.min_tier_rank is None else str(item.min_tier_rank),
        "sort": str(item.sort),
        "valid_from": _local_input(item.valid_from),
        "valid_until": _local_input(item.valid_until),
        "image": item.image or "",
        "description": item.description,
    }
    return ItemForm(kind=item.kind, values=values)


class FormInvalid(Exception):
    def __init__(self, field_name: str) -> None:
        super().__init__(field_name)
        self.field_name = field_name


def _int(values: dict[str, str], name: str) -> int | None:
    text = values.get(name, "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError as error:
        raise FormInvalid(name) from error


def _fen(text: str) -> int:
    try:
        amount = Decimal(text.strip() or "0")
    except InvalidOperation as error:
        raise FormInvalid("cash_yuan") from error
    if amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise FormInvalid("cash_yuan")
    return int(amount * 100)


def _moment(values: dict[str, str], name: str) -> datetime | None:
    text = values.get(name, "").strip()
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).replace(tzinfo=current_settings().tzinfo)
    except ValueError as error:
        raise FormInvalid(name) from error


def _data(values: dict[str, str]) -> dict[str, Any]:
    return {
        "name": values.get("name", "").strip(),
        "sku_id": _int(values, "sku_id"),
        "coupon_template_id": _int(values, "coupon_template_id"),
        "points_price": _int(values, "points_price"),
        "cash_price": _fen(values.get("cash_yuan", "")),
        "per_member_limit": _int(values, "per_member_limit"),
        "min_tier_rank": _int(values, "min_tier_rank"),
        "sort": _int(values, "sort") or 0,
        "valid_from": _moment(values, "valid_from"),
        "valid_until": _moment(values, "valid_until"),
        "image": values.get("image", "").strip() or None,
        "description": values.get("description", "").strip(),
    }


def _mall_page(
    page: ConsolePage,
    session: Session,
    *,
    form: ItemForm | None = None,
    flash: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    return page.render(
        "points_mall/items.html",
        active=ACTIVE,
        status=status,
        items=points_mall.list_items(session),
        exchanges=points_mall_exchange.recent_exchanges(session, limit=30),
        form=form or ItemForm(),
        kinds=[kind.value for kind in PointsMallItemKind],
        flash=flash,
    )


@router.get(MALL_PATH)
def points_mall_list(page: ManagePage, session: SessionDep, done: str = "") -> HTMLResponse:
    flash = page.t(f"points_mall.done.{done}") if done in DONE_KEYS else None
    return _mall_page(page, session, flash=flash)


DONE_KEYS = {"created", "saved", "activated", "off", "restocked"}


def _invalid(page: ConsolePage, form: ItemForm, field_name: str) -> ItemForm:
    label = f"points_mall.field.{field_name}"
    shown = page.t(label) if page.t.has(label) else field_name
    form.error = page.t("points_mall.invalid_field", field=shown)
    form.error_field = field_name
    return form


def _values(**given: str) -> dict[str, str]:
    return {name: given.get(name, "") for name in FIELDS}


Text = Annotated[str, Form(max_length=5000)]


@router.post(MALL_PATH)
def points_mall_create(
    page: ManagePage,
    session: SessionDep,
    kind: Annotated[str, Form(max_length=16)] = "coupon",
    name: Text = "",
    sku_id: Text = "",
    coupon_template_id: Text = "",
    points_price: Text = "",
    cash_yuan: Text = "",
    stock_total: Text = "",
    per_member_limit: Text = "",
    min_tier_rank: Text = "",
    sort: Text = "",
    valid_from: Text = "",
    valid_until: Text = "",
    image: Text = "",
    description: Text = "",
) -> Response:
    values = _values(**{key: value for key, value in locals().items() if key in FIELDS})
    form = ItemForm(kind=kind, values=values)
    try:
        body = ItemIn(kind=kind, stock_total=_int(values, "stock_total"), **_data(values))
    except FormInvalid as invalid:
        return _mall_page(page, session, form=_invalid(page, form, invalid.field_name), status=422)
    except ValidationError as invalid:
        first = invalid.errors()[0]
        name_of = str(first["loc"][0]) if first["loc"] else "name"
        name_of = "cash_yuan" if name_of == "cash_price" else name_of
        return _mall_page(page, session, form=_invalid(page, form, name_of), status=422)
    outcome = attempt(session, lambda: points_mall.create(session, page.principal, body))
    if isinstance(outcome, SiyuError):
        form.error = error_message(page.t, outcome)
        return _mall_page(page, session, form=form, status=outcome.status)
    return RedirectResponse(f"{MALL_PATH}?done=created", status_code=303)


def _edit_page(
    page: ConsolePage, session: Session, item: PointsMallItem, form: ItemForm, status: int = 200
) -> HTMLResponse:
    return page.render(
        "points_mall/item_edit.html",
        active=ACTIVE,
        status=status,
        item=item,
        form=form,
        exchanged=points_mall_exchange.count_for(session, item.id),
    )


@router.get(MALL_PATH + "/{item_id}")
def points_mall_item(item_id: int, page: ManagePage, session: SessionDep) -> HTMLResponse:
    item = points_mall.get(session, item_id)
    return _edit_page(page, session, item, form_of(item))


@router.post(MALL_PATH + "/{item_id}")
def points_mall_update(
    item_id: int,
    page: ManagePage,
    session: SessionDep,
    name: Text = "",
    sku_id: Text = "",
    coupon_template_id: Text = "",
    points_price: Text = "",
    cash_yuan: Text = "",
    per_member_limit: Text = "",
    min_tier_rank: Text = "",
    sort: Text = "",
    valid_from: Text = "",
    valid_until: Text = "",
    image: Text = "",
    description: Text = "",
) -> Response:
    item = points_mall.get(session, item_id)
    values = _values(**{key: value for key, value in locals().items() if key in FIELDS})
    values["stock_total"] = str(item.stock_total)
    form = ItemForm(kind=item.kind, values=values)
    try:
        data = _data(values)
        if item.kind == PointsMallItemKind.GOODS:
            data.pop("coupon_template_id")
        else:
            data.pop("sku_id")
        body = ItemUpdate(**data)
    except FormInvalid as invalid:
        return _edit_page(page, session, item, _invalid(page, form, invalid.field_name), 422)
    except ValidationError as invalid:
        first = invalid.errors()[0]
        name_of = str(first["loc"][0]) if first["loc"] else "name"
        return _edit_page(page, session, item, _invalid(page, form, name_of), 422)
    outcome = attempt(
        session, lambda: points_mall.update_item(session, page.principal, item_id, body)
    )
    if isinstance(outcome, SiyuError):
        form.error = error_message(page.t, outcome)
        return _edit_page(page, session, item, form, outcome.status)
    return RedirectResponse(f"{MALL_PATH}?done=saved", status_code=303)


@router.post(MALL_PATH + "/{item_id}/activate")
def points_mall_activate(item_id: int, page: ManagePage, session: SessionDep) -> Response:
    outcome = attempt(
        session,
        lambda: points_mall.set_status(session, page.principal, item_id, points_mall.ACTIVE),
    )
    if isinstance(outcome, SiyuError):
        return _mall_page(
            page, session, flash=error_message(page.t, outcome), status=outcome.status
        )
    return RedirectResponse(f"{MALL_PATH}?done=activated", status_code=303)


@router.post(MALL_PATH + "/{item_id}/off")
def points_mall_off(item_id: int, page: ManagePage, session: SessionDep) -> Response:
    points_mall.set_status(session, page.principal, item_id, points_mall.OFF)
    return RedirectResponse(f"{MALL_PATH}?done=off", status_code=303)


@router.post(MALL_PATH + "/{item_id}/restock")
def points_mall_restock(
    item_id: int,
    page: ManagePage,
    session: SessionDep,
    quantity: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    if not quantity.strip().isdigit() or not 0 < int(quantity) <= 100_000_000:
        return _mall_page(page, session, flash=page.t("points_mall.restock_invalid"), status=422)
    points_mall.restock(session, page.principal, item_id, int(quantity))
    return RedirectResponse(f"{MALL_PATH}?done=restocked", status_code=303)


@router.get(BENEFITS_PATH)
def benefits_page(
    page: ManagePage, session: SessionDep, kind: str = "", queued: str = ""
) -> HTMLResponse:
    chosen = kind if kind in {k.value for k in BenefitKind} else None
    return page.render(
        "points_mall/benefits.html",
        active=ACTIVE,
        grants=benefits.recent_grants(session, kind=chosen, limit=100),
        kinds=[k.value for k in BenefitKind],
        chosen=chosen or "",
        queued=queued,
    )


@router.post(BENEFITS_PATH + "/run")
def benefits_run(page: ManagePage, session: SessionDep) -> Response:
    job = benefits_tasks.run_now(session)
    audit.record(
        session, page.principal, "members.benefits.run", target_type="job", target_id=job.id
    )
    return RedirectResponse(f"{BENEFITS_PATH}?queued={job.id}", status_code=303)
