"""Console pages for channel codes: list with stats, create form, detail, poster form."""

from __future__ import annotations

import io

from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.campaigns.channel_codes import service as code_service
from siyu.models.channel_code import ChannelCode
from siyu.models.staff import Role
from tests.campaigns.factories import make_channel_code
from tests.factories import DEFAULT_PASSWORD, make_staff
from tests.web.console_helpers import audit_count, sign_in

PATH = "/console/channel-codes"


def signed_in(client: TestClient, session: Session, role: Role) -> str:
    staff = make_staff(session, roles=[role])
    return sign_in(client, staff.username, DEFAULT_PASSWORD)


def code_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(ChannelCode)) or 0


def form(token: str, **overrides: str) -> dict[str, str]:
    return {
        "csrf_token": token,
        "name": "小红书笔记 11 月",
        "kind": "xiaohongshu",
        "touchpoint": "h5",
        "target_url": "https://shop.example.com/note",
        "tags": "小红书, 兴趣:护肤",
        "guide_id": "",
        "code": "",
        **overrides,
    }


def test_anonymous_is_sent_to_login(code_client: TestClient) -> None:
    response = code_client.get(PATH, follow_redirects=False)
    assert response.status_code in {302, 303}
    assert response.headers["location"].startswith("/console/login")


def test_list_shows_codes_with_stats_and_escapes_names(
    code_client: TestClient, session: Session
) -> None:
    signed_in(code_client, session, Role.GUIDE)
    code = make_channel_code(session, code="list-c", name="<b>海报</b>")
    code_service.record_scan(session, code)

    page = code_client.get(PATH)
    assert page.status_code == 200
    assert 'data-code="list-c"' in page.text
    assert '<td data-stat="scans">1</td>' in page.text
    assert "&lt;b&gt;海报&lt;/b&gt;" in page.text
    # A guide may read but not create: no form.
    assert "create-channel-code-form" not in page.text


def test_create_through_the_form_redirects_to_the_detail_page(
    code_client: TestClient, session: Session
) -> None:
    token = signed_in(code_client, session, Role.OPERATOR)
    guide = make_staff(session, roles=[Role.GUIDE])
    before = audit_count(session)

    response = code_client.post(
        PATH, data=form(token, guide_id=str(guide.id), code="xhs-nov"), follow_redirects=False
    )
    assert response.status_code == 303, response.text
    created = session.scalar(select(ChannelCode).where(ChannelCode.code == "xhs-nov"))
    assert created is not None
    assert response.headers["location"] == f"{PATH}/{created.id}?created=1"
    assert created.tag_names == ["小红书", "兴趣:护肤"]
    assert created.guide_id == guide.id
    assert audit_count(session) == before + 1

    detail = code_client.get(response.headers["location"])
    assert detail.status_code == 200
    assert f'src="/api/v1/channel-codes/{created.id}/qr.png?scale=8"' in detail.text
    assert "http://testserver/c/xhs-nov" in detail.text
    assert "活码 xhs-nov 已创建。" in detail.text
    qr_image = code_client.get(f"/api/v1/channel-codes/{created.id}/qr.png?scale=8")
    assert qr_image.status_code == 200
    assert Image.open(io.BytesIO(qr_image.content)).format == "PNG"


def test_form_errors_come_back_with_the_input(code_client: TestClient, session: Session) -> None:
    token = signed_in(code_client, session, Role.OPERATOR)
    make_channel_code(session, code="dup-code")
    before = code_count(session)

    taken = code_client.post(PATH, data=form(token, code="dup-code"))
    assert taken.status_code == 409
    assert "该码值已被使用" in taken.text
    assert 'data-field="code"' in taken.text
    assert 'value="小红书笔记 11 月"' in taken.text

    bad_url = code_client.post(PATH, data=form(token, target_url="javascript:alert(1)"))
    assert bad_url.status_code == 422
    assert 'data-field="target_url"' in bad_url.text

    bad_kind = code_client.post(PATH, data=form(token, kind="nonsense"))
    assert bad_kind.status_code == 422
    assert 'data-field="kind"' in bad_kind.text
    assert code_count(session) == before


def test_guide_cannot_create_and_nothing_is_written(
    code_client: TestClient, session: Session
) -> None:
    token = signed_in(code_client, session, Role.GUIDE)
    before = (code_count(session), audit_count(session))
    response = code_client.post(PATH, data=form(token))
    assert response.status_code == 403
    assert (code_count(session), audit_count(session)) == before


def test_missing_csrf_token_is_refused(code_client: TestClient, session: Session) -> None:
    signed_in(code_client, session, Role.OPERATOR)
    response = code_client.post(PATH, data=form(""))
    assert response.status_code == 403
    assert code_count(session) == 0


def test_poster_form_saves_caption_and_background(
    code_client: TestClient, session: Session
) -> None:
    token = signed_in(code_client, session, Role.OPERATOR)
    code = make_channel_code(session, code="poster-form")
    buffer = io.BytesIO()
    Image.new("RGB", (400, 600), (10, 120, 200)).save(buffer, format="PNG")

    response = code_client.post(
        f"{PATH}/{code.id}/poster",
        data={
            "csrf_token": token,
            "caption": "扫码领券",
            "qr_x": "0.5",
            "qr_y": "0.6",
            "qr_size": "0.5",
        },
        files={"image": ("bg.png", buffer.getvalue(), "image/png")},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    session.refresh(code)
    assert code.poster["caption"] == "扫码领券"
    assert code.poster["qr_size"] == 0.5
    assert code.poster["background"].startswith("posters/")

    refused = code_client.post(
        f"{PATH}/{code.id}/poster",
        data={"csrf_token": token, "caption": "换背景"},
        files={"image": ("bg.png", b"not an image", "image/png")},
    )
    assert refused.status_code == 422
    assert "背景图须为 PNG 或 JPEG" in refused.text
    session.refresh(code)
    assert code.poster["caption"] == "扫码领券"


def test_deactivate_from_the_detail_page(code_client: TestClient, session: Session) -> None:
    token = signed_in(code_client, session, Role.OPERATOR)
    code = make_channel_code(session, code="off-c")
    response = code_client.post(
        f"{PATH}/{code.id}/deactivate", data={"csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303
    session.refresh(code)
    assert code.is_active is False
    assert code_client.get("/c/off-c", follow_redirects=False).status_code == 404


def test_unknown_code_detail_is_a_404_page(code_client: TestClient, session: Session) -> None:
    signed_in(code_client, session, Role.OPERATOR)
    response = code_client.get(f"{PATH}/987654")
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]


def test_english_catalog_renders(code_client: TestClient, session: Session) -> None:
    signed_in(code_client, session, Role.OPERATOR)
    page = code_client.get(PATH + "?lang=en")
    assert page.status_code == 200
    assert "New channel code" in page.text


def test_every_key_the_templates_build_from_data_is_in_both_catalogs() -> None:
    from siyu.campaigns.channel_codes.service import ChannelCodeStats
    from siyu.models.channel_code import ChannelCodeKind
    from siyu.web.console.channel_codes_pages import TOUCHPOINTS
    from siyu.web.i18n import catalog

    keys = {f"channel_codes.kind.{kind.value}" for kind in ChannelCodeKind}
    keys |= {f"channel_codes.touchpoint.{touchpoint}" for touchpoint in TOUCHPOINTS}
    keys |= {f"channel_codes.stats.{name}" for name in ChannelCodeStats.__dataclass_fields__}
    for language in ("zh-CN", "en"):
        assert keys <= set(catalog(language)), language
