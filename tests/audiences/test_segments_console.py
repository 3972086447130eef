"""Console pages for segments and tags (server-rendered, signed in through the form):
the list, the form with its preview, detail with reach and upload, tag management,
who may open them, and the catalog keys the templates build from data."""

from __future__ import annotations

import json

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.audiences.segments import service as segments
from siyu.core import clock
from siyu.models.audience import Segment, SegmentKind, SegmentStatus, TagGroup
from siyu.models.customer import Tag, TagKind
from siyu.models.staff import Role
from siyu.web import i18n
from siyu.web.console.audience_tags_pages import DONE_KEYS as TAG_DONE_KEYS
from siyu.web.console.audiences_pages import DONE_KEYS
from tests.audiences.segments_helpers import count, make_customers, make_segment, members
from tests.factories import DEFAULT_PASSWORD, make_staff
from tests.web.console_helpers import sign_in

RULE = {"attribute": "city", "op": "=", "value": "上海"}


def _operator(api: TestClient, session: Session) -> str:
    staff = make_staff(session, roles=[Role.OPERATOR])
    return sign_in(api, staff.username, DEFAULT_PASSWORD)


def test_segment_list_form_preview_and_detail(api: TestClient, session: Session) -> None:
    token = _operator(api, session)
    listing = api.get("/console/audiences")
    assert listing.status_code == 200
    assert 'id="audience-tabs"' in listing.text
    assert 'id="segments-empty"' in listing.text
    form = api.get("/console/audiences/segments/new")
    assert form.status_code == 200
    # The rule builder (with its own live count) or, without it, the JSON box and
    # this page's preview.
    assert "data-rule-builder" in form.text or 'id="segment-preview"' in form.text
    preview = api.post(
        "/console/audiences/segments/preview",
        data={"csrf_token": token, "rule": json.dumps(RULE)},
    )
    assert preview.status_code == 200
    assert '<span class="stat-value" id="segment-preview-count">0</span>' in preview.text
    bad_preview = api.post(
        "/console/audiences/segments/preview", data={"csrf_token": token, "rule": "{oops"}
    )
    assert "有效的 JSON" in bad_preview.text
    bad = api.post(
        "/console/audiences/segments/new",
        data={"csrf_token": token, "name": "坏的", "kind": "rule", "rule": '{"trait": "nope"}'},
    )
    assert bad.status_code == 400
    assert count(session, Segment) == 0
    created = api.post(
        "/console/audiences/segments/new",
        data={
            "csrf_token": token,
            "name": "上海顾客",
            "kind": "rule",
            "refresh_minutes": "30",
            "rule": json.dumps(RULE),
        },
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    segment = session.scalars(select(Segment)).one()
    assert (segment.kind, segment.rule, segment.refresh_minutes) == ("rule", RULE, 30)
    # The first refresh runs on the way to the detail page; a warehouse never synced
    # is refused (it would find nobody), shown as a failed refresh.
    detail = api.get(created.headers["location"], follow_redirects=True)
    assert detail.status_code == 200
    assert 'id="segment-reach"' in detail.text
    assert 'id="segment-size-data"' in detail.text
    assert 'id="segment-member-count">0<' in detail.text
    assert "刷新失败，成员保持不变。" in detail.text
    assert 'id="segment-last-error"' in detail.text
    session.refresh(segment)
    assert segment.refreshed_at is None
    assert segment.last_error is not None
    archived = api.post(
        f"/console/audiences/segments/{segment.id}/archive",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert archived.status_code == 303
    session.refresh(segment)
    assert segment.status == SegmentStatus.ARCHIVED


def test_static_list_upload_from_the_detail_page(api: TestClient, session: Session) -> None:
    token = _operator(api, session)
    ids = make_customers(session, 2)
    created = api.post(
        "/console/audiences/segments/new",
        data={"csrf_token": token, "name": "名单", "kind": "static"},
        follow_redirects=False,
    )
    assert created.status_code == 303
    segment = session.scalars(select(Segment)).one()
    assert segment.kind == SegmentKind.STATIC
    uploaded = api.post(
        f"/console/audiences/segments/{segment.id}/upload",
        data={"csrf_token": token, "ids": f"{ids[0]}\n{ids[1]}\nbad\n", "mode": "replace"},
    )
    assert uploaded.status_code == 200
    assert 'id="upload-result"' in uploaded.text
    assert "不是有效的顾客 ID" in uploaded.text
    assert members(session, segment.id) == ids
    refused = api.post(
        f"/console/audiences/segments/{segment.id}/upload",
        data={"csrf_token": token, "ids": "", "mode": "replace"},
    )
    assert refused.status_code == 422
    assert 'id="upload-error"' in refused.text
    assert members(session, segment.id) == ids


def test_detail_shows_sample_members_and_sizes(api: TestClient, session: Session) -> None:
    _operator(api, session)
    ids = make_customers(session, 3)
    segment = make_segment(session)
    segments.record_membership(session, segment, np.asarray(ids, dtype=np.int64), now=clock.now())
    detail = api.get(f"/console/audiences/segments/{segment.id}")
    for customer_id in ids:
        assert f'data-customer="{customer_id}"' in detail.text
    assert 'id="segment-size-table"' in detail.text


def test_tag_management_pages(api: TestClient, session: Session) -> None:
    token = _operator(api, session)
    assert api.get("/console/audiences/tags").status_code == 200
    group = api.post(
        "/console/audiences/tags/groups",
        data={"csrf_token": token, "name": "肤质", "is_exclusive": "1"},
        follow_redirects=False,
    )
    assert group.status_code == 303
    assert session.scalars(select(TagGroup.is_exclusive).where(TagGroup.name == "肤质")).one()
    manual = api.post(
        "/console/audiences/tags",
        data={"csrf_token": token, "group_name": "肤质", "name": "干性", "kind": "manual"},
        follow_redirects=False,
    )
    assert manual.status_code == 303
    rule_tag = api.post(
        "/console/audiences/tags",
        data={
            "csrf_token": token,
            "group_name": "地区",
            "name": "上海",
            "kind": "rule",
            "rule": json.dumps(RULE),
        },
        follow_redirects=False,
    )
    assert rule_tag.status_code == 303, rule_tag.text
    rows = session.execute(select(Tag.name, Tag.kind).order_by(Tag.id)).all()
    assert [tuple(row) for row in rows] == [("干性", TagKind.MANUAL), ("上海", TagKind.RULE)]
    page = api.get("/console/audiences/tags")
    assert "干性" in page.text
    assert "规则标签" in page.text
    tag_id = session.scalars(select(Tag.id).where(Tag.name == "上海")).one()
    refreshed = api.post(
        f"/console/audiences/tags/{tag_id}/refresh",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert refreshed.status_code == 409
    assert "数据仓库还没有同步过" in refreshed.text
    duplicate = api.post(
        "/console/audiences/tags",
        data={"csrf_token": token, "group_name": "肤质", "name": "干性", "kind": "manual"},
    )
    assert duplicate.status_code == 409
    assert "该组已有同名标签" in duplicate.text


def test_only_audience_managers_open_the_pages(api: TestClient, session: Session) -> None:
    guide = make_staff(session, roles=[Role.GUIDE])
    token = sign_in(api, guide.username, DEFAULT_PASSWORD)
    for path in (
        "/console/audiences",
        "/console/audiences/tags",
        "/console/audiences/segments/new",
    ):
        assert api.get(path).status_code == 403, path
    response = api.post(
        "/console/audiences/segments/new",
        data={"csrf_token": token, "name": "x", "kind": "static"},
    )
    assert response.status_code == 403
    assert count(session, Segment) == 0


def test_catalog_has_every_key_built_from_data() -> None:
    for language in ("zh-CN", "en"):
        catalog = i18n.catalog(language)
        built = {
            *(f"audiences.kind.{kind.value}" for kind in SegmentKind),
            *(f"audiences.status.{status.value}" for status in SegmentStatus),
            *(f"audiences.tags.kind.{kind.value}" for kind in TagKind),
            *(f"audiences.done.{key}" for key in DONE_KEYS),
            *(f"audiences.tags.done.{key}" for key in TAG_DONE_KEYS),
            *(
                f"audiences.problem.{code}"
                for code in ("invalid_id", "unknown", "erased", "merged", "duplicate")
            ),
            *(f"audiences.reach.{key}" for key in ("oa", "mp_subscribe", "wecom", "any_channel")),
            *(f"audiences.tab.{key}" for key in ("segments", "tags", "rfm", "lifecycle")),
        }
        assert sorted(key for key in built if key not in catalog) == [], language
