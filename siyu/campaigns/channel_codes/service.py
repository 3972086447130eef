"""Channel codes: create, change, switch off, list, and count what they brought in."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from siyu.campaigns.channel_codes import errors
from siyu.campaigns.channel_codes.attribution import VisitHow, split_tag_name
from siyu.campaigns.channel_codes.schemas import (
    ChannelCodeCreate,
    ChannelCodeUpdate,
    PosterLayout,
)
from siyu.core import clock
from siyu.models.channel_code import ChannelCode, ChannelCodeVisit
from siyu.models.staff import Role, Staff
from siyu.staff import audit
from siyu.staff.principal import Principal

# No 0/O, 1/l/I: codes get typed from parcel cards and read out over the phone.
CODE_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
GENERATED_LENGTH = 8
CUSTOM_CODE = re.compile(r"[A-Za-z0-9_-]{3,30}")
TOUCHPOINT = re.compile(r"[a-z][a-z0-9_]{0,31}")
MAX_TAG_LENGTH = 64
SHORT_PATH = "/c/"


def generate_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(GENERATED_LENGTH))


def validate_code(value: str) -> str:
    if not CUSTOM_CODE.fullmatch(value):
        raise errors.InvalidChannelCode(
            "A custom code is 3–30 letters, digits, '_' or '-'.", data={"field": "code"}
        )
    return value


def validate_target_url(value: str) -> str:
    value = value.strip()
    parts = urlsplit(value)
    # Absolute http(s) URLs or a path on this site; never javascript:, data: and friends.
    absolute = parts.scheme in {"http", "https"} and bool(parts.netloc)
    local = not parts.scheme and not parts.netloc and value.startswith("/")
    if not (absolute or local) or len(value) > 500 or any(c.isspace() for c in value):
        raise errors.InvalidChannelCode(
            "The target must be an http(s) URL or a path starting with '/'.",
            data={"field": "target_url"},
        )
    return value


def validate_touchpoint(value: str) -> str:
    if not TOUCHPOINT.fullmatch(value):
        raise errors.InvalidChannelCode(
            "A touchpoint is a lower-case name such as h5, mp, wecom or offline.",
            data={"field": "touchpoint"},
        )
    return value


def normalise_tags(entries: Iterable[str]) -> list[str]:
    result: list[str] = []
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        group, name = split_tag_name(entry)
        if len(group) > MAX_TAG_LENGTH or len(name) > MAX_TAG_LENGTH or not name:
            raise errors.InvalidChannelCode(
                "A tag is 'name' or 'group:name', each at most 64 characters.",
                data={"field": "tag_names"},
            )
        if entry not in result:
            result.append(entry)
    return result


def _check_guide(session: Session, guide_id: int) -> Staff:
    guide = session.scalar(
        select(Staff).where(Staff.id == guide_id).options(selectinload(Staff.roles))
    )
    if (
        guide is None
        or not guide.is_active
        or Role.GUIDE not in {Role(link.role) for link in guide.roles}
    ):
        raise errors.InvalidGuide(data={"field": "guide_id", "guide_id": guide_id})
    return guide


def _code_taken(session: Session, value: str) -> bool:
    return session.scalar(select(ChannelCode.id).where(ChannelCode.code == value)) is not None


def create_code(session: Session, actor: Principal, data: ChannelCodeCreate) -> ChannelCode:
    store_id = data.store_id
    if data.guide_id is not None:
        guide = _check_guide(session, data.guide_id)
        # A guide's personal code brings customers to the guide's store by default.
        store_id = store_id if store_id is not None else guide.store_id
    if data.code:
        value = validate_code(data.code.strip())
        if _code_taken(session, value):
            raise errors.ChannelCodeTaken(data={"field": "code", "code": value})
    else:
        value = generate_code()
        while _code_taken(session, value):  # 55^8 values: a repeat is a freak event
            value = generate_code()
    code = ChannelCode(
        code=value,
        name=data.name.strip(),
        kind=data.kind.value,
        touchpoint=validate_touchpoint(data.touchpoint),
        target_url=validate_target_url(data.target_url),
        is_active=True,
        guide_id=data.guide_id,
        store_id=store_id,
        tag_names=normalise_tags(data.tag_names),
        poster={},
        note=data.note,
        created_by=actor.username,
    )
    # The savepoint turns a race on the unique code into the same 409 as the check.
    try:
        with session.begin_nested():
            session.add(code)
            session.flush()
    except IntegrityError as error:
        raise errors.ChannelCodeTaken(data={"field": "code", "code": value}) from error
    audit.record(
        session,
        actor,
        "channel_code.create",
        target_type="channel_code",
        target_id=code.id,
        detail={"code": code.code, "name": code.name, "kind": code.kind},
    )
    return code


def get_code(session: Session, code_id: int) -> ChannelCode:
    code = session.get(ChannelCode, code_id)
    if code is None:
        raise errors.UnknownChannelCode(data={"channel_code_id": code_id})
    return code


def find_active(session: Session, value: str) -> ChannelCode:
    code = session.scalar(select(ChannelCode).where(ChannelCode.code == value))
    if code is None or not code.is_active:
        raise errors.UnknownChannelCode(data={"code": value[:30]})
    return code


def list_codes(session: Session, *, include_inactive: bool = True) -> list[ChannelCode]:
    statement = select(ChannelCode).order_by(ChannelCode.id.desc())
    if not include_inactive:
        statement = statement.where(ChannelCode.is_active.is_(True))
    return list(session.scalars(statement).all())


def update_code(
    session: Session, actor: Principal, code_id: int, data: ChannelCodeUpdate
) -> ChannelCode:
    code = get_code(session, code_id)
    sent = data.model_fields_set
    changes: dict[str, Any] = {}
    if "name" in sent and data.name is not None:
        changes["name"] = data.name.strip()
    if "kind" in sent and data.kind is not None:
        changes["kind"] = data.kind.value
    if "touchpoint" in sent and data.touchpoint is not None:
        changes["touchpoint"] = validate_touchpoint(data.touchpoint)
    if "target_url" in sent and data.target_url is not None:
        changes["target_url"] = validate_target_url(data.target_url)
    if "guide_id" in sent:
        if data.guide_id is not None:
            _check_guide(session, data.guide_id)
        changes["guide_id"] = data.guide_id
    if "store_id" in sent:
        changes["store_id"] = data.store_id
    if "tag_names" in sent and data.tag_names is not None:
        changes["tag_names"] = normalise_tags(data.tag_names)
    if "note" in sent:
        changes["note"] = data.note
    if "is_active" in sent and data.is_active is not None:
        changes["is_active"] = data.is_active
    if "poster" in sent and data.poster is not None:
        # Keep the uploaded background; replace the layout.
        changes["poster"] = {**(code.poster or {}), **data.poster.model_dump()}
    for name, value in changes.items():
        setattr(code, name, value)
    session.flush()
    audit.record(
        session,
        actor,
        "channel_code.update",
        target_type="channel_code",
        target_id=code.id,
        detail={"code": code.code, "changed": sorted(changes)},
    )
    return code


def set_active(session: Session, actor: Principal, code_id: int, *, active: bool) -> ChannelCode:
    return update_code(session, actor, code_id, ChannelCodeUpdate(is_active=active))


def poster_layout(code: ChannelCode) -> PosterLayout:
    stored = code.poster or {}
    return PosterLayout.model_validate(
        {key: stored[key] for key in PosterLayout.model_fields if key in stored}
    )


def set_poster_background(
    session: Session, actor: Principal, code: ChannelCode, relative_path: str
) -> ChannelCode:
    code.poster = {**(code.poster or {}), "background": relative_path}
    session.flush()
    audit.record(
        session,
        actor,
        "channel_code.poster_upload",
        target_type="channel_code",
        target_id=code.id,
        detail={"code": code.code, "background": relative_path},
    )
    return code


def short_url(base_url: str, code: str) -> str:
    """The printed URL: the request's own origin, so it works behind any host name."""
    return base_url.rstrip("/") + SHORT_PATH + code


def landing_url(target_url: str, code: str) -> str:
    """``target_url`` with ``ch=<code>`` added; an existing query is kept."""
    parts = urlsplit(target_url)
    query = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True)]
    query = [(key, value) for key, value in query if key != "ch"] + [("ch", code)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def record_scan(session: Session, code: ChannelCode, *, at: datetime | None = None) -> None:
    session.add(
        ChannelCodeVisit(
            channel_code_id=code.id,
            customer_id=None,
            is_new_customer=False,
            how=VisitHow.SCAN,
            occurred_at=at or clock.now(),
        )
    )
    session.flush()


@dataclass(frozen=True)
class ChannelCodeStats:
    scans: int = 0
    new_customers: int = 0
    returning_customers: int = 0
    wecom_adds: int = 0


def stats(
    session: Session,
    code_ids: Iterable[int],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[int, ChannelCodeStats]:
    """Per code, in one grouped query over ``[since, until)``.

    A customer is *new* for a code when a visit through it created them, *returning*
    when they came through it but were created elsewhere or earlier.
    """
    ids = set(code_ids)
    if not ids:
        return {}
    visit = ChannelCodeVisit
    statement = (
        select(
            visit.channel_code_id,
            func.count(case((visit.how == VisitHow.SCAN, 1))).label("scans"),
            func.count(case((visit.how == VisitHow.WECOM_ADD, 1))).label("wecom_adds"),
            func.count(func.distinct(case((visit.is_new_customer, visit.customer_id)))).label(
                "new_customers"
            ),
            func.count(func.distinct(visit.customer_id)).label("customers"),
        )
        .where(visit.channel_code_id.in_(ids))
        .group_by(visit.channel_code_id)
    )
    if since is not None:
        statement = statement.where(visit.occurred_at >= since)
    if until is not None:
        statement = statement.where(visit.occurred_at < until)
    result = {code_id: ChannelCodeStats() for code_id in ids}
    for row in session.execute(statement):
        result[row.channel_code_id] = ChannelCodeStats(
            scans=row.scans,
            new_customers=row.new_customers,
            returning_customers=row.customers - row.new_customers,
            wecom_adds=row.wecom_adds,
        )
    return result


def guides(session: Session) -> list[Staff]:
    """Active staff with the guide role, for the form's guide picker."""
    rows = session.scalars(
        select(Staff)
        .where(Staff.is_active.is_(True))
        .options(selectinload(Staff.roles))
        .order_by(Staff.username)
    ).all()
    return [staff for staff in rows if any(link.role == Role.GUIDE for link in staff.roles)]


def guides_by_id(session: Session, ids: Iterable[int | None]) -> dict[int, Staff]:
    wanted = {staff_id for staff_id in ids if staff_id is not None}
    if not wanted:
        return {}
    rows = session.scalars(select(Staff).where(Staff.id.in_(wanted))).all()
    return {staff.id: staff for staff in rows}
