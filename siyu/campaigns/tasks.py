"""What the campaigns domain registers at start-up: the shared ``campaign_price``
pricing step and placement hook, and each mechanic's event handlers and jobs.

Each mechanic adds its own ``tasks`` module to the import list below.
"""

from __future__ import annotations

from siyu.campaigns import pricing

__all__ = ["pricing"]
