"""Posters: a background (uploaded, or a plain generated one), the QR code and a caption.

Uploaded backgrounds are decoded with Pillow before they are accepted, so a file that
merely claims to be an image is refused; they are stored under
``settings.data_dir / "posters"`` and composed on request (posters are small and
rarely fetched, and composing on request means a layout change needs no cleanup).
"""

from __future__ import annotations

import hashlib
import io
import os
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from siyu.campaigns.channel_codes import errors, qr
from siyu.campaigns.channel_codes.schemas import PosterLayout

MAX_UPLOAD_BYTES = 2 * 1024 * 1024
MAX_SIDE = 4096
MIN_SIDE = 200
ACCEPTED_FORMATS = {"PNG": "png", "JPEG": "jpg"}
POSTER_DIR = "posters"
# A phone-screen poster when no background was uploaded.
PLAIN_SIZE = (750, 1334)
PLAIN_COLOUR = (250, 246, 240)
TEXT_COLOUR = (40, 40, 40)
# Fonts that carry Chinese glyphs, most common first (Debian: fonts-wqy-microhei,
# fonts-noto-cjk). Without one, captions fall back to Pillow's font and CJK shows as boxes.
CJK_FONT_PATHS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "C:/Windows/Fonts/msyh.ttc",
)


def validate_upload(data: bytes) -> str:
    """The file extension for an acceptable background; raises for anything else."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise errors.PosterImageTooLarge(data={"max_bytes": MAX_UPLOAD_BYTES})
    try:
        with Image.open(io.BytesIO(data)) as probe:
            image_format = probe.format or ""
            width, height = probe.size
            if image_format not in ACCEPTED_FORMATS:
                raise errors.InvalidPosterImage(data={"format": image_format})
            if max(width, height) > MAX_SIDE or min(width, height) < MIN_SIDE:
                raise errors.InvalidPosterImage(
                    "The background must be between 200 and 4096 pixels on each side.",
                    data={"width": width, "height": height},
                )
            probe.verify()
        # verify() leaves the image unusable; decode it fully once to catch truncation.
        with Image.open(io.BytesIO(data)) as image:
            image.load()
    except errors.InvalidPosterImage:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise errors.InvalidPosterImage() from error
    return ACCEPTED_FORMATS[image_format]


def store_background(data_dir: Path, code_id: int, data: bytes, extension: str) -> str:
    """Write the file (temp then rename, so a reader never sees half of it)."""
    folder = data_dir / POSTER_DIR
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{code_id}-{hashlib.sha256(data).hexdigest()[:16]}.{extension}"
    temporary = folder / f".{name}.tmp"
    temporary.write_bytes(data)
    os.replace(temporary, folder / name)
    return f"{POSTER_DIR}/{name}"


@lru_cache(maxsize=8)
def _font_path() -> str | None:
    for candidate in CJK_FONT_PATHS:
        if Path(candidate).is_file():
            return candidate
    return None


def caption_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = _font_path()
    if path is not None:
        return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def has_cjk_font() -> bool:
    return _font_path() is not None


def _background(data_dir: Path, relative: str | None) -> Image.Image:
    if relative:
        path = (data_dir / relative).resolve()
        # Only files under the posters folder; the stored path is ours, but be strict.
        if path.is_file() and (data_dir / POSTER_DIR).resolve() in path.parents:
            with Image.open(path) as image:
                return image.convert("RGB")
    return Image.new("RGB", PLAIN_SIZE, PLAIN_COLOUR)


def compose(
    *, url: str, layout: PosterLayout, data_dir: Path, background: str | None, title: str
) -> bytes:
    canvas = _background(data_dir, background)
    width, height = canvas.size
    side = max(21, int(min(width, height) * layout.qr_size))
    code_image = Image.open(io.BytesIO(qr.png(url, scale=8))).convert("RGB")
    code_image = code_image.resize((side, side), Image.Resampling.NEAREST)
    # Centre at (qr_x, qr_y), clamped so the whole code stays on the poster.
    left = min(max(0, int(width * layout.qr_x - side / 2)), width - side)
    top = min(max(0, int(height * layout.qr_y - side / 2)), height - side)
    canvas.paste(code_image, (left, top))
    draw = ImageDraw.Draw(canvas)
    if background is None and title:
        _centred_text(draw, title, width=width, top=int(height * 0.12), size=width // 14)
    if layout.caption:
        below = top + side + max(12, side // 12)
        size = max(14, width // 22)
        if below + size > height:
            below = max(0, top - size - max(12, side // 12))
        _centred_text(draw, layout.caption, width=width, top=below, size=size)
    output = io.BytesIO()
    canvas.save(output, format="PNG", optimize=False)
    return output.getvalue()


def _centred_text(draw: ImageDraw.ImageDraw, text: str, *, width: int, top: int, size: int) -> None:
    font = caption_font(size)
    left, _top, right, _bottom = draw.textbbox((0, 0), text, font=font)
    draw.text((max(0, (width - (right - left)) // 2), top), text, font=font, fill=TEXT_COLOUR)
