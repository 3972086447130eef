"""QR PNGs, posters, background uploads, and the public short URL."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.campaigns.channel_codes import poster, qr
from siyu.campaigns.channel_codes import service as code_service
from siyu.campaigns.channel_codes.schemas import PosterLayout
from siyu.core.clock import FrozenClock
from siyu.core.settings import Settings
from siyu.models.channel_code import ChannelCodeVisit
from siyu.models.staff import Role
from tests.campaigns.factories import make_channel_code
from tests.factories import make_staff, make_token

BASE = "/api/v1/channel-codes"


def bearer(session: Session, role: Role = Role.OPERATOR) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(session, make_staff(session, roles=[role]))}"}


def png_bytes(size: tuple[int, int], colour: tuple[int, int, int], kind: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format=kind)
    return buffer.getvalue()


def module_grid(image: Image.Image, *, scale: int, border: int) -> list[list[bool]]:
    """Read the QR modules back from the PNG: dark centre pixel = dark module."""
    grey = image.convert("L")
    modules = grey.width // scale - 2 * border

    def dark(x: int, y: int) -> bool:
        value = grey.getpixel(
            ((border + x) * scale + scale // 2, (border + y) * scale + scale // 2)
        )
        return isinstance(value, int) and value < 128

    return [[dark(x, y) for x in range(modules)] for y in range(modules)]


def test_qr_png_encodes_the_short_url(code_client: TestClient, session: Session) -> None:
    code = make_channel_code(session, code="qr-code")
    response = code_client.get(f"{BASE}/{code.id}/qr.png?scale=6", headers=bearer(session))

    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    url = "http://testserver/c/qr-code"
    expected = qr.make(url)
    side = qr.side_in_pixels(url, scale=6)
    assert image.size == (side, side)
    # The PNG's module grid is exactly segno's matrix for the short URL.
    matrix = [[bool(cell) for cell in row] for row in expected.matrix]
    assert module_grid(image, scale=6, border=qr.BORDER) == matrix

    download = code_client.get(
        f"{BASE}/{code.id}/qr.png?download=true", headers=bearer(session, Role.GUIDE)
    )
    assert (
        download.headers["content-disposition"] == 'attachment; filename="channel-qr-code-qr.png"'
    )
    too_big = code_client.get(f"{BASE}/{code.id}/qr.png?scale=500", headers=bearer(session))
    assert too_big.status_code == 422


def test_plain_poster_has_the_qr_where_the_layout_says(tmp_path: Path) -> None:
    layout = PosterLayout(caption="扫码加入会员", qr_x=0.5, qr_y=0.5, qr_size=0.4)
    content = poster.compose(
        url="http://x/c/abc", layout=layout, data_dir=tmp_path, background=None, title="门店"
    )
    image = Image.open(io.BytesIO(content)).convert("RGB")
    assert image.size == poster.PLAIN_SIZE
    side = int(750 * 0.4)
    left, top = (750 - side) // 2, (1334 - side) // 2
    region = image.crop((left, top, left + side, top + side))
    colours = {colour for _count, colour in region.getcolors(maxcolors=1_000_000) or []}
    # Only black and white inside the QR area, with both present.
    assert colours == {(0, 0, 0), (255, 255, 255)}
    # The caption is drawn below the code: dark pixels appear on the plain background.
    below = image.crop((0, top + side, 750, top + side + 80)).convert("L")
    darkest = below.getextrema()[0]
    assert isinstance(darkest, int)
    assert darkest < 100


def test_uploaded_background_is_used_and_the_poster_downloads(
    code_client: TestClient, session: Session, test_settings: Settings
) -> None:
    code = make_channel_code(session, code="poster-c")
    headers = bearer(session)
    background = png_bytes((600, 800), (200, 30, 30), kind="JPEG")

    uploaded = code_client.post(
        f"{BASE}/{code.id}/poster",
        files={"image": ("bg.jpg", background, "image/jpeg")},
        headers=headers,
    )
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["has_poster_background"] is True
    session.refresh(code)
    stored = test_settings.data_dir / code.poster["background"]
    assert stored.read_bytes() == background
    assert stored.parent == test_settings.data_dir / "posters"

    response = code_client.get(f"{BASE}/{code.id}/poster.png?download=true", headers=headers)
    assert response.status_code == 200
    image = Image.open(io.BytesIO(response.content)).convert("RGB")
    assert image.size == (600, 800)
    # Corner pixel: the red background (JPEG is lossy, hence the tolerance).
    pixel = image.getpixel((5, 5))
    assert isinstance(pixel, tuple)
    red, green, blue = pixel
    assert red > 170
    assert green < 70
    assert blue < 70
    assert response.headers["content-disposition"].startswith("attachment;")
    # The layout may change at any time: browsers must revalidate, never reuse.
    assert response.headers["cache-control"] == "private, no-cache"


def test_upload_refuses_non_images_wrong_formats_and_oversize(
    code_client: TestClient, session: Session, test_settings: Settings
) -> None:
    code = make_channel_code(session, code="upload-bad")
    headers = bearer(session)
    cases = [
        (b"GIF89a not really", "channel_code.invalid_image", 422),
        (png_bytes((300, 300), (1, 2, 3), kind="GIF"), "channel_code.invalid_image", 422),
        (png_bytes((100, 100), (1, 2, 3)), "channel_code.invalid_image", 422),
        (png_bytes((300, 300), (1, 2, 3))[:200], "channel_code.invalid_image", 422),
        (b"\x89PNG" + b"0" * (poster.MAX_UPLOAD_BYTES - 100), None, 413),
    ]
    for content, error_code, status in cases:
        response = code_client.post(
            f"{BASE}/{code.id}/poster",
            files={"image": ("bg.png", content, "image/png")},
            headers=headers,
        )
        assert response.status_code == status, (error_code, response.text)
        if error_code is not None:
            assert response.json()["code"] == error_code
    session.refresh(code)
    assert code.poster == {}
    assert not (test_settings.data_dir / "posters").exists() or not any(
        (test_settings.data_dir / "posters").iterdir()
    )


def test_validate_upload_refuses_oversize_before_decoding() -> None:
    with pytest.raises(poster.errors.PosterImageTooLarge) as refused:
        poster.validate_upload(b"0" * (poster.MAX_UPLOAD_BYTES + 1))
    assert refused.value.status == 413
    assert refused.value.code == "channel_code.image_too_large"


def scans(session: Session) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(ChannelCodeVisit).where(ChannelCodeVisit.how == "scan")
        )
        or 0
    )


def test_short_url_redirects_with_ch_and_counts_one_scan_per_ip_per_minute(
    code_client: TestClient, session: Session, frozen_clock: FrozenClock
) -> None:
    make_channel_code(session, code="scan-me", target_url="https://shop.example.com/p?x=1&ch=old")

    first = code_client.get("/c/scan-me", follow_redirects=False)
    assert first.status_code == 302
    assert first.headers["location"] == "https://shop.example.com/p?x=1&ch=scan-me"
    assert first.headers["cache-control"] == "no-store"
    again = code_client.get("/c/scan-me", follow_redirects=False)
    assert again.status_code == 302
    assert scans(session) == 1

    frozen_clock.advance(seconds=61)
    code_client.get("/c/scan-me", follow_redirects=False)
    assert scans(session) == 2


def test_short_url_to_a_local_path(code_client: TestClient, session: Session) -> None:
    make_channel_code(session, code="local-p", target_url="/shop/home")
    response = code_client.get("/c/local-p", follow_redirects=False)
    assert response.headers["location"] == "/shop/home?ch=local-p"


def test_unknown_or_inactive_code_is_404_in_json_and_html(
    code_client: TestClient, session: Session
) -> None:
    make_channel_code(session, code="switched-off", is_active=False)
    for path in ("/c/never-existed", "/c/switched-off"):
        as_json = code_client.get(path, follow_redirects=False)
        assert as_json.status_code == 404
        assert as_json.json()["code"] == "channel_code.unknown"
        as_html = code_client.get(path, headers={"Accept": "text/html"}, follow_redirects=False)
        assert as_html.status_code == 404
        assert 'data-code="channel_code.unknown"' in as_html.text
        assert "活码不存在" in as_html.text
    assert scans(session) == 0


def test_scan_stats_follow_the_date_range(session: Session, frozen_clock: FrozenClock) -> None:
    code = make_channel_code(session, code="range-c")
    code_service.record_scan(session, code)
    frozen_clock.advance(days=2)
    code_service.record_scan(session, code)
    since = frozen_clock.now() - timedelta(days=1)
    assert code_service.stats(session, [code.id], since=since)[code.id].scans == 1
    assert code_service.stats(session, [code.id], until=since)[code.id].scans == 1
