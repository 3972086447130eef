"""Stable error codes of group buy (each a 4xx; a refused request changes nothing).

Phase errors (not started, ended) are the registry's ``campaign.not_started`` /
``campaign.ended`` / ``campaign.not_available``."""

from __future__ import annotations

from siyu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed


class DealNotFound(NotFound):
    code = "group_buy.deal_not_found"
    message = "No such group-buy deal."


class GroupNotFound(NotFound):
    code = "group_buy.group_not_found"
    message = "No such group."


class InvalidDeal(ValidationFailed):
    code = "group_buy.invalid_deal"
    message = "The deal is invalid."


class DealLocked(Conflict):
    """The campaign has started: prices and group size were promised to customers."""

    code = "group_buy.deal_locked"
    message = "The campaign has started; this field can no longer change."


class GroupFull(Conflict):
    code = "group_buy.group_full"
    message = "This group is full."


class GroupFailed(Conflict):
    code = "group_buy.group_failed"
    message = "This group did not fill in time."


class GroupExpired(Conflict):
    code = "group_buy.group_expired"
    message = "This group's time is up."


class GroupNotOpen(Conflict):
    """Pending (the leader has not paid yet), cancelled or already filled."""

    code = "group_buy.group_not_open"
    message = "This group cannot be joined."


class AlreadyJoined(Conflict):
    code = "group_buy.already_joined"
    message = "You are already in this group."


class NewCustomersOnly(PermissionDenied):
    """老带新: only customers who never paid an order may join."""

    code = "group_buy.new_customers_only"
    message = "Only new customers may join this group."


class LimitReached(Conflict):
    code = "group_buy.limit_reached"
    message = "You have reached this deal's limit."


class SoldOut(Conflict):
    code = "group_buy.sold_out"
    message = "This deal is sold out."


class GroupNotFilled(Conflict):
    """The ship guard: an order of an unfilled group is paid but held."""

    code = "group_buy.not_filled"
    message = "This order's group has not filled yet; it cannot ship."
