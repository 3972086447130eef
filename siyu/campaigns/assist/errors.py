"""Stable error codes of the assist mechanic (helper rules: ``siyu.campaigns.helping``)."""

from __future__ import annotations

from siyu.core.errors import Conflict, NotFound, ValidationFailed


class InvalidDeal(ValidationFailed):
    code = "assist.invalid"
    message = "The assist settings are invalid."


class DealNotFound(NotFound):
    code = "assist.deal_not_found"
    message = "No such assist campaign."


class AssistNotFound(NotFound):
    code = "assist.not_found"
    message = "No such assist."


class AlreadyStarted(Conflict):
    code = "assist.already_started"
    message = "You already have an assist running in this campaign."


class AssistExpired(Conflict):
    code = "assist.expired"
    message = "This assist's time is up."


class AssistFinished(Conflict):
    """Unlocked or claimed: no more assists needed."""

    code = "assist.finished"
    message = "This assist needs no more help."


class NotUnlocked(Conflict):
    code = "assist.not_unlocked"
    message = "The reward is not unlocked yet."


class AlreadyClaimed(Conflict):
    code = "assist.already_claimed"
    message = "The reward has already been claimed."


class SoldOut(Conflict):
    code = "assist.sold_out"
    message = "No rewards are left."
