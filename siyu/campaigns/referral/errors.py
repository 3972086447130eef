"""Stable error codes of the referral programme."""

from __future__ import annotations

from siyu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed


class ProgrammeNotLive(Conflict):
    code = "referral.not_live"
    message = "The referral programme is not running now."


class ProgrammeAlreadyLive(Conflict):
    """One referral campaign at a time: its dates may not overlap another's."""

    code = "referral.programme_overlaps"
    message = "Another referral programme runs in these dates."


class InvalidSettings(ValidationFailed):
    code = "referral.invalid_settings"
    message = "The referral settings are invalid."


class PromoterNotFound(NotFound):
    code = "referral.promoter_not_found"
    message = "No such promoter."


class UnknownCode(NotFound):
    code = "referral.unknown_code"
    message = "No active promoter has this share code."


class AlreadyPromoter(Conflict):
    code = "referral.already_promoter"
    message = "You are already a promoter."


class NotAPromoter(PermissionDenied):
    code = "referral.not_a_promoter"
    message = "Only active promoters may do this."


class TooDeep(Conflict):
    """An invitation by a promoter who was invited: a third level is never created."""

    code = "referral.too_deep"
    message = "Promoters invited by another promoter cannot invite promoters (at most two levels)."


class SelfReferral(ValidationFailed):
    code = "referral.self_referral"
    message = "You cannot refer yourself."


class PromoterStateConflict(Conflict):
    code = "referral.promoter_invalid_transition"
    message = "The promoter's status does not allow this."


class InvalidRule(ValidationFailed):
    code = "referral.invalid_rule"
    message = "The commission rule is invalid."


class RuleNotFound(NotFound):
    code = "referral.rule_not_found"
    message = "No such commission rule."


class InsufficientBalance(Conflict):
    code = "referral.insufficient_balance"
    message = "You cannot withdraw more than your settled commission."


class InvalidWithdrawal(ValidationFailed):
    code = "referral.invalid_withdrawal"
    message = "The withdrawal is invalid."


class WithdrawalNotFound(NotFound):
    code = "referral.withdrawal_not_found"
    message = "No such withdrawal."


class WithdrawalStateConflict(Conflict):
    code = "referral.withdrawal_invalid_transition"
    message = "The withdrawal's status does not allow this."
