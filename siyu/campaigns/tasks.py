"""What the campaigns domain registers at start-up: the shared ``campaign_price``
pricing step and placement hook, and each mechanic's event handlers and jobs.

Each mechanic adds its own ``tasks`` module to the import list below.
"""

from __future__ import annotations

from siyu.campaigns import pricing
from siyu.campaigns.assist import tasks as assist_tasks
from siyu.campaigns.bargain import tasks as bargain_tasks
from siyu.campaigns.flash_sale import tasks as flash_sale_tasks
from siyu.campaigns.group_buy import tasks as group_buy_tasks
from siyu.campaigns.lottery import tasks as lottery_tasks
from siyu.campaigns.referral import tasks as referral_tasks

__all__ = [
    "assist_tasks",
    "bargain_tasks",
    "flash_sale_tasks",
    "group_buy_tasks",
    "lottery_tasks",
    "pricing",
    "referral_tasks",
]
