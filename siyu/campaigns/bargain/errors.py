"""Stable error codes of the bargain mechanic (helper rules: ``siyu.campaigns.helping``)."""

from __future__ import annotations

from siyu.core.errors import Conflict, NotFound, ValidationFailed


class InvalidDeal(ValidationFailed):
    code = "bargain.invalid"
    message = "The bargain settings are invalid."


class DealNotFound(NotFound):
    code = "bargain.deal_not_found"
    message = "No such bargain campaign."


class BargainNotFound(NotFound):
    code = "bargain.not_found"
    message = "No such bargain."


class AlreadyStarted(Conflict):
    """One live bargain per deal per customer."""

    code = "bargain.already_started"
    message = "You already have a bargain on this product."


class BargainExpired(Conflict):
    code = "bargain.expired"
    message = "This bargain's time is up."


class BargainFinished(Conflict):
    """The floor is reached, or the initiator has ordered: no more cuts."""

    code = "bargain.finished"
    message = "This bargain takes no more help."


class AlreadyOrdered(Conflict):
    code = "bargain.already_ordered"
    message = "This bargain has already been ordered."


class NotYours(NotFound):
    """Someone else's bargain: looks like a missing one to the caller."""

    code = "bargain.not_found"
    message = "No such bargain."


class SoldOut(Conflict):
    code = "bargain.sold_out"
    message = "No bargain units are left."
