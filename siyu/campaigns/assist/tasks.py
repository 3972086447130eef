"""What the assist mechanic registers at start-up: its live counters and its
placement hook. A claimed gift's order is paid at once (total 0), so no order event
moves an assist."""

from __future__ import annotations

from siyu.campaigns import pricing
from siyu.campaigns.assist import assists, service
from siyu.campaigns.assist import merge as _merge  # noqa: F401  (registers the re-pointers)
from siyu.campaigns.registry import counters
from siyu.models.campaign import CampaignKind

counters.register(CampaignKind.ASSIST, service.counters)
pricing.register_placed(CampaignKind.ASSIST, assists.on_placed)
