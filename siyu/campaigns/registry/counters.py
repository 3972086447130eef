"""Live counters per campaign, provided by each mechanic.

A mechanic registers one function that, given the ids of campaigns of its kind,
returns their figures in one query (``{campaign_id: {"sold": 12, …}}``); the
registry's list and the console show them without knowing any mechanic's tables.
Every figure is an integer: counts, or fen for money (keys ending ``_amount``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy.orm import Session

from siyu.models.campaign import Campaign, CampaignKind

CounterProvider = Callable[[Session, Sequence[int]], dict[int, dict[str, int]]]
_providers: dict[str, CounterProvider] = {}


def register(kind: CampaignKind, provider: CounterProvider) -> None:
    if kind.value in _providers:
        raise ValueError(f"counters for {kind.value!r} are already registered")
    _providers[kind.value] = provider


def for_campaigns(session: Session, campaigns: Sequence[Campaign]) -> dict[int, dict[str, int]]:
    by_kind: dict[str, list[int]] = {}
    for campaign in campaigns:
        by_kind.setdefault(campaign.kind, []).append(campaign.id)
    figures: dict[int, dict[str, int]] = {}
    for kind, ids in by_kind.items():
        provider = _providers.get(kind)
        if provider is not None:
            figures.update(provider(session, ids))
    return figures
