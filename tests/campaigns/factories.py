"""Channel-code factories (keyword-only, typed)."""

from __future__ import annotations

import itertools

from sqlalchemy.orm import Session

from siyu.models.channel_code import ChannelCode, ChannelCodeKind

_sequence = itertools.count(1)


def make_channel_code(
    session: Session,
    *,
    code: str | None = None,
    name: str = "门店海报",
    kind: ChannelCodeKind = ChannelCodeKind.STORE_POSTER,
    touchpoint: str = "offline",
    target_url: str = "https://shop.example.com/landing",
    guide_id: int | None = None,
    store_id: int | None = None,
    tag_names: list[str] | None = None,
    is_active: bool = True,
) -> ChannelCode:
    channel_code = ChannelCode(
        code=code or f"code{next(_sequence)}",
        name=name,
        kind=kind.value,
        touchpoint=touchpoint,
        target_url=target_url,
        is_active=is_active,
        guide_id=guide_id,
        store_id=store_id,
        tag_names=tag_names or [],
        poster={},
        created_by="test",
    )
    session.add(channel_code)
    session.flush()
    return channel_code
