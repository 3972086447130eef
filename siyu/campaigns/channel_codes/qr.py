"""QR codes for channel codes, made in memory with segno."""

from __future__ import annotations

import io

import segno

DEFAULT_SCALE = 10
MAX_SCALE = 40
# Medium error correction: survives a crease in a parcel card, keeps modules large.
ERROR_LEVEL = "m"
BORDER = 4


def make(url: str) -> segno.QRCode:
    return segno.make(url, error=ERROR_LEVEL, micro=False)


def png(url: str, *, scale: int = DEFAULT_SCALE) -> bytes:
    """A black-on-white PNG, ``scale`` pixels per module, with the standard quiet zone."""
    buffer = io.BytesIO()
    make(url).save(buffer, kind="png", scale=scale, border=BORDER)
    return buffer.getvalue()


def side_in_pixels(url: str, *, scale: int = DEFAULT_SCALE) -> int:
    width, _height = make(url).symbol_size(scale=scale, border=BORDER)
    return int(width)
