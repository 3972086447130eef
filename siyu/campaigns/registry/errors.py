"""Stable error codes of the campaign registry and of a campaign's phases."""

from __future__ import annotations

from siyu.core.errors import Conflict, NotFound, ValidationFailed


class CampaignNotFound(NotFound):
    code = "campaign.not_found"
    message = "No such campaign."


class InvalidCampaign(ValidationFailed):
    """Dates out of order, an unknown touchpoint, a holdout outside 0–50 …"""

    code = "campaign.invalid"
    message = "The campaign is invalid."


class CampaignStateConflict(Conflict):
    code = "campaign.invalid_transition"
    message = "The campaign's status does not allow this."


class CampaignLocked(Conflict):
    """Live or finished: what customers were promised (dates, kind) can no longer change."""

    code = "campaign.locked"
    message = "The campaign has started; this field can no longer change."


class CampaignNotStarted(Conflict):
    code = "campaign.not_started"
    message = "The campaign has not started yet."


class CampaignEnded(Conflict):
    code = "campaign.ended"
    message = "The campaign has ended."


class CampaignNotAvailable(Conflict):
    """A draft or cancelled campaign: customers cannot take part."""

    code = "campaign.not_available"
    message = "The campaign is not available."
