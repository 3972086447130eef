"""Money on pages: fen in the system, yuan on screen and in forms."""

from __future__ import annotations

import re

# ASCII digits only: \d and int() would also take a full-width "１".
_YUAN = re.compile(r"^([0-9]{1,9})(?:\.([0-9]{1,2}))?$")


def yuan_to_fen(text: str) -> int | None:
    """An amount typed in yuan ("12", "12.5", "¥1,212.50") in fen; None when blank.

    Raises ``ValueError`` for anything else (letters, three decimals, a sign): each
    form turns that into its own domain error.
    """
    cleaned = text.strip().replace("¥", "").replace("￥", "").replace(",", "").strip()
    if not cleaned:
        return None
    match = _YUAN.match(cleaned)
    if match is None:
        raise ValueError(f"not an amount in yuan: {text!r}")
    whole, cents = match.group(1), (match.group(2) or "").ljust(2, "0")
    return int(whole) * 100 + int(cents)


def display_yuan(fen: int | None) -> str:
    """12900 → "¥129.00"; a negative amount (a discount) → "-¥10.00"; None → "—"."""
    if fen is None:
        return "—"
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


def input_yuan(fen: int | None) -> str:
    """The value of a yuan input field: 25990 → "259.90"; None → ""."""
    if fen is None:
        return ""
    return f"{fen // 100}.{fen % 100:02d}"
