"""Drawing a share poster with Pillow, and caching it on disk by content hash.

The layout is a phone-screen card (750 × 1200): the product image (or a drawn block
when there is no local image), the campaign label, the title, the price, and the QR
code to the share link with a caption. Fonts and the QR encoder are the channel-code
poster's (``siyu.campaigns.channel_codes.poster`` / ``qr``): a CJK font when the
machine has one (Debian ``fonts-wqy-zenhei`` / ``fonts-noto-cjk``), else Pillow's
own font, where Chinese shows as boxes (``docs/posters.md``).

Caching: everything that decides the pixels (texts, price, URL, the image's bytes,
the font, the layout version) is hashed; the PNG is stored as
``<data_dir>/posters/cache/<hash>.png`` (temp file, then rename). The same inputs
find the file and nothing is drawn again; changed inputs give a new name, so a
stale poster is never served.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from siyu.campaigns.channel_codes import poster as channel_poster
from siyu.campaigns.channel_codes import qr

# Bump when the drawing changes: every cached poster is then drawn anew.
LAYOUT_VERSION = 1
CACHE_DIR = "posters/cache"
SIZE = (750, 1200)
IMAGE_BOX = (40, 40, 710, 710)
QR_SIDE = 230
BACKGROUND = (255, 255, 255)
INK = (34, 34, 34)
MUTED = (140, 140, 140)
ACCENT = (214, 48, 49)
# Soft block colours for a poster without a product image, picked by the title's hash.
BLOCK_COLOURS = ((250, 224, 228), (224, 240, 236), (252, 236, 212), (226, 232, 250))
MAX_IMAGE_BYTES = 8 * 1024 * 1024

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@dataclass(frozen=True)
class PosterContent:
    title: str
    label: str
    url: str
    caption: str = "长按识别二维码"
    subtitle: str = ""
    price_amount: int | None = None
    list_price_amount: int | None = None
    # SHA-256 of the product image's bytes, with the bytes themselves alongside.
    image_digest: str | None = None


def content_hash(content: PosterContent) -> str:
    document = {
        **asdict(content),
        "layout": LAYOUT_VERSION,
        "font": channel_poster._font_path(),
    }
    canonical = json.dumps(document, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def cache_path(data_dir: Path, digest: str) -> Path:
    return data_dir / CACHE_DIR / f"{digest}.png"


def cached_or_drawn(
    data_dir: Path, content: PosterContent, image: bytes | None
) -> tuple[bytes, str, bool]:
    """The poster's PNG, its content hash, and whether it came from the cache."""
    digest = content_hash(content)
    path = cache_path(data_dir, digest)
    if path.is_file():
        return path.read_bytes(), digest, True
    data = draw(content, image)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
    return data, digest, False


def _font(size: int) -> Font:
    return channel_poster.caption_font(size)


def _text_width(draw_on: ImageDraw.ImageDraw, text: str, font: Font) -> int:
    left, _top, right, _bottom = draw_on.textbbox((0, 0), text, font=font)
    return int(right - left)


def _wrap(draw_on: ImageDraw.ImageDraw, text: str, font: Font, width: int, lines: int) -> list[str]:
    """Break by character (Chinese has no spaces), at most ``lines`` lines, with "…"."""
    out: list[str] = []
    current = ""
    for character in text:
        if _text_width(draw_on, current + character, font) > width:
            out.append(current)
            current = character
            if len(out) == lines:
                break
        else:
            current += character
    else:
        if current:
            out.append(current)
        return out
    last = out[-1]
    while last and _text_width(draw_on, last + "…", font) > width:
        last = last[:-1]
    out[-1] = last + "…"
    return out


def _yuan(amount: int) -> str:
    return f"¥{amount // 100}.{amount % 100:02d}"


def _product_image(image: bytes | None) -> Image.Image | None:
    if image is None:
        return None
    try:
        with Image.open(io.BytesIO(image)) as opened:
            opened.load()
            return opened.convert("RGB")
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None


def _paste_cover(canvas: Image.Image, picture: Image.Image) -> None:
    left, top, right, bottom = IMAGE_BOX
    width, height = right - left, bottom - top
    scale = max(width / picture.width, height / picture.height)
    resized = picture.resize(
        (max(width, round(picture.width * scale)), max(height, round(picture.height * scale))),
        Image.Resampling.LANCZOS,
    )
    offset_x = (resized.width - width) // 2
    offset_y = (resized.height - height) // 2
    canvas.paste(
        resized.crop((offset_x, offset_y, offset_x + width, offset_y + height)), (left, top)
    )


def _block(draw_on: ImageDraw.ImageDraw, content: PosterContent) -> None:
    """No local image: a soft coloured block with the label, so the poster still reads."""
    digest = hashlib.sha256(content.title.encode()).digest()
    colour = BLOCK_COLOURS[digest[0] % len(BLOCK_COLOURS)]
    draw_on.rounded_rectangle(IMAGE_BOX, radius=24, fill=colour)
    left, top, right, bottom = IMAGE_BOX
    font = _font(96)
    word = content.label or content.title[:4]
    width = _text_width(draw_on, word, font)
    draw_on.text(
        ((left + right - width) // 2, (top + bottom) // 2 - 60), word, font=font, fill=ACCENT
    )


def draw(content: PosterContent, image: bytes | None) -> bytes:
    canvas = Image.new("RGB", SIZE, BACKGROUND)
    draw_on = ImageDraw.Draw(canvas)
    picture = _product_image(image)
    if picture is not None:
        _paste_cover(canvas, picture)
    else:
        _block(draw_on, content)
    y = IMAGE_BOX[3] + 28
    if content.label:
        label_font = _font(26)
        width = _text_width(draw_on, content.label, label_font)
        draw_on.rounded_rectangle((40, y, 40 + width + 32, y + 44), radius=22, fill=ACCENT)
        draw_on.text((56, y + 7), content.label, font=label_font, fill=(255, 255, 255))
        y += 64
    title_font = _font(36)
    for line in _wrap(draw_on, content.title, title_font, 670, 2):
        draw_on.text((40, y), line, font=title_font, fill=INK)
        y += 48
    if content.subtitle:
        subtitle_font = _font(24)
        for line in _wrap(draw_on, content.subtitle, subtitle_font, 420, 2):
            draw_on.text((40, y + 4), line, font=subtitle_font, fill=MUTED)
            y += 34
    _price(draw_on, content)
    _code(canvas, draw_on, content)
    output = io.BytesIO()
    canvas.save(output, format="PNG", optimize=False)
    return output.getvalue()


def _price(draw_on: ImageDraw.ImageDraw, content: PosterContent) -> None:
    if content.price_amount is None:
        return
    top = SIZE[1] - QR_SIDE - 40
    price_font = _font(60)
    text = _yuan(content.price_amount)
    draw_on.text((40, top + 40), text, font=price_font, fill=ACCENT)
    if content.list_price_amount and content.list_price_amount > content.price_amount:
        small = _font(26)
        crossed = _yuan(content.list_price_amount)
        left = 40 + _text_width(draw_on, text, price_font) + 16
        draw_on.text((left, top + 72), crossed, font=small, fill=MUTED)
        width = _text_width(draw_on, crossed, small)
        draw_on.line((left, top + 88, left + width, top + 88), fill=MUTED, width=2)


def _code(canvas: Image.Image, draw_on: ImageDraw.ImageDraw, content: PosterContent) -> None:
    # A whole number of pixels per module (never a resampled code): it scans cleanly.
    scale = max(1, QR_SIDE // qr.side_in_pixels(content.url, scale=1))
    code = Image.open(io.BytesIO(qr.png(content.url, scale=scale))).convert("RGB")
    left = SIZE[0] - QR_SIDE - 40
    top = SIZE[1] - QR_SIDE - 60
    inset = (QR_SIDE - code.width) // 2
    canvas.paste(code, (left + inset, top + inset))
    caption_font = _font(22)
    width = _text_width(draw_on, content.caption, caption_font)
    draw_on.text(
        (left + (QR_SIDE - width) // 2, top + QR_SIDE + 8),
        content.caption,
        font=caption_font,
        fill=MUTED,
    )
