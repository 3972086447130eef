"""Campaign economics an operator enters: fixed costs and holdouts (for campaign ROI).

The campaigns phase plays its campaigns out before this phase runs, and the registry
service locks a holdout once a campaign has started (and refuses any edit once it
ended), because changing who is held out mid-flight would bias the comparison. The
demo stands in for an operator who configured them at creation, so it writes the two
settings on the rows directly. The holdout itself needs no assignment table: it is a
stable hash bucket of the customer (``siyu.campaigns.registry.service``), so ROI
finds the held-out customers from the percentage alone.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.models.campaign import Campaign

# Every third campaign (by id) ran with a holdout of this share of its audience.
HOLDOUT_EVERY = 3
HOLDOUT_PERCENT = 10
# Fixed costs (posters, agency, prizes bought): ¥800 – ¥6,000 in ¥100 steps, in fen.
FIXED_COST_STEPS = range(8, 61)
FEN_PER_HUNDRED_YUAN = 10_000


@dataclass
class Economics:
    holdout_campaigns: list[str] = field(default_factory=list)
    costed_campaigns: int = 0
    fixed_costs: int = 0


def configure(session: Session, rng: random.Random) -> Economics:
    economics = Economics()
    campaigns = session.scalars(select(Campaign).order_by(Campaign.id)).all()
    for index, campaign in enumerate(campaigns):
        if campaign.fixed_cost_amount == 0:
            campaign.fixed_cost_amount = rng.choice(FIXED_COST_STEPS) * FEN_PER_HUNDRED_YUAN
        economics.costed_campaigns += 1
        economics.fixed_costs += campaign.fixed_cost_amount
        if index % HOLDOUT_EVERY == 0 and campaign.holdout_percent == 0:
            campaign.holdout_percent = HOLDOUT_PERCENT
        if campaign.holdout_percent:
            economics.holdout_campaigns.append(campaign.name)
    session.flush()
    return economics
