"""The builder's console routes and the rule playground: who may open them, the field
catalogue with the brand's tags, previews and refusals with the rule's path."""

from __future__ import annotations

import html
import json

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from siyu.models.customer import Tag
from siyu.models.staff import Role
from siyu.web.console.audience_rules_pages import EXAMPLE_RULE
from tests.audiences.rules.test_parse import LIPSTICK
from tests.factories import DEFAULT_PASSWORD, make_staff
from tests.web.console_helpers import sign_in

TRY = "/console/audiences/rules/try"
FIELDS = "/console/audiences/rules/fields"
PREVIEW = "/console/audiences/rules/preview"


def test_authorization_matrix(api: TestClient, session: Session) -> None:
    for method, url in (("GET", TRY), ("GET", FIELDS), ("POST", PREVIEW)):
        response = api.request(method, url, json={"rule": LIPSTICK}, follow_redirects=False)
        assert response.status_code in (303, 401), url
        if response.status_code == 303:
            assert response.headers["location"].startswith("/console/login")
    analyst = make_staff(session, roles=[Role.ANALYST])
    token = sign_in(api, analyst.username, DEFAULT_PASSWORD)
    headers = {"X-CSRF-Token": token}
    assert api.get(TRY).status_code == 403
    assert api.get(FIELDS).status_code == 403
    assert api.post(PREVIEW, json={"rule": LIPSTICK}, headers=headers).status_code == 403


def test_playground_fields_and_preview(api: TestClient, session: Session) -> None:
    tag = Tag(name="干性", group_name="肤质")
    session.add(tag)
    session.flush()
    operator = make_staff(session, roles=[Role.OPERATOR])
    token = sign_in(api, operator.username, DEFAULT_PASSWORD)
    page = api.get(TRY)
    assert page.status_code == 200
    assert "<h1>规则试算</h1>" in page.text
    assert 'src="/static/rule_builder.js"' in page.text
    hidden = page.text.split('name="rule" value="', 1)[1].split('"', 1)[0]
    assert json.loads(html.unescape(hidden)) == EXAMPLE_RULE

    fields = api.get(FIELDS).json()
    assert fields["tags"] == [{"id": tag.id, "name": "肤质/干性"}]
    assert [item["type"] for item in fields["events"]][-1] == "order"

    headers = {"X-CSRF-Token": token}
    response = api.post(
        PREVIEW, json={"rule": {"all": [LIPSTICK, {"tag": tag.id}]}}, headers=headers
    )
    assert response.status_code == 200, response.text
    data = response.json()
    # The test warehouse is empty: every view exists, with no rows.
    assert (data["count"], data["sample"]) == (0, [])
    assert data["text"] == (
        "(近 7 天 浏览商品(类目 = 口红) ≥ 3 次 且 近 7 天 没有 支付订单) 且 有 标签 肤质/干性"
    )
    bad = api.post(
        PREVIEW,
        json={"rule": {"event": "product_view", "window": {"days": 0}}},
        headers=headers,
    )
    assert bad.status_code == 400
    assert bad.json() == {
        "error": {"path": "window.days", "reason": "a window must be at least 1 day"}
    }
    # Without the CSRF header a cookie-authenticated write is refused.
    assert api.post(PREVIEW, json={"rule": LIPSTICK}).status_code == 403
    # In English, the page and the rule's text.
    assert "<h1>Rule playground</h1>" in api.get(TRY + "?lang=en").text
    data = api.post(PREVIEW, json={"rule": {"not": {"tag": tag.id}}}, headers=headers).json()
    assert data["text"] == "not (has tag 肤质/干性)"
