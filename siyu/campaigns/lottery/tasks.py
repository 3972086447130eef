"""What the lottery registers at start-up (imported by ``siyu.campaigns.tasks``): its
live counters for the registry and its ``campaign_price`` placement handler (a goods
prize's 0-yuan order)."""

from __future__ import annotations

from siyu.campaigns import pricing
from siyu.campaigns.lottery import claims, reads
from siyu.campaigns.registry import counters
from siyu.models.campaign import CampaignKind

counters.register(CampaignKind.LOTTERY, reads.counters)
pricing.register_placed(CampaignKind.LOTTERY, claims.on_placed)
