"""Factories for tracking tests (keyword-only, typed)."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from siyu.core import clock
from siyu.models.channel_code import ChannelCode

_sequence = itertools.count(1)


def make_event(
    *,
    event_id: str | None = None,
    type: str = "product_view",
    occurred_at: datetime | str | None = None,
    identities: list[dict[str, Any]] | None = None,
    context: dict[str, Any] | None = None,
    properties: Any = None,
) -> dict[str, Any]:
    """One event as a client sends it (defaults: an anonymous product view, now)."""
    moment = occurred_at if occurred_at is not None else clock.now()
    return {
        "event_id": event_id or f"evt-{next(_sequence)}",
        "type": type,
        "occurred_at": moment if isinstance(moment, str) else moment.isoformat(),
        "identities": identities
        if identities is not None
        else [{"kind": "anonymous_id", "value": f"anon-{next(_sequence)}"}],
        "context": context if context is not None else {"touchpoint": "mp"},
        "properties": properties if properties is not None else {"sku_id": 7},
    }


def make_channel_code(
    session: Session,
    *,
    code: str | None = None,
    is_active: bool = True,
    touchpoint: str = "h5",
    guide_id: int | None = None,
) -> ChannelCode:
    channel_code = ChannelCode(
        code=code or f"code{next(_sequence)}",
        name="Store poster",
        kind="store_poster",
        touchpoint=touchpoint,
        is_active=is_active,
        guide_id=guide_id,
        tag_names=[],
        poster={},
    )
    session.add(channel_code)
    session.flush()
    return channel_code
