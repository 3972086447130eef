"""Stable error codes of memberships, tiers, growth value and the points ledger."""

from __future__ import annotations

from siyu.core.errors import Conflict, NotFound, ValidationFailed


class ProgramInvalid(ValidationFailed):
    code = "member_program.invalid"
    message = "The member program rules are invalid."


class TierNotFound(NotFound):
    code = "member_tier.not_found"
    message = "No such member tier."


class TierLadderInvalid(ValidationFailed):
    """Thresholds must rise strictly with rank and the lowest tier must start at 0."""

    code = "member_tier.invalid_ladder"
    message = "Tier thresholds must increase strictly with rank, starting at 0."


class TierDuplicate(Conflict):
    code = "member_tier.duplicate"
    message = "Another tier already has this code, rank or threshold."


class TierInUse(Conflict):
    code = "member_tier.in_use"
    message = "Members are (or were) in this tier; it cannot be deleted."


class MembershipNotFound(NotFound):
    code = "membership.not_found"
    message = "This customer is not a member."


class ReasonRequired(ValidationFailed):
    code = "points.reason_required"
    message = "A reason is required."


class TierReasonRequired(ValidationFailed):
    code = "member_tier.reason_required"
    message = "A reason is required to change a member's tier by hand."


class PointsInsufficient(Conflict):
    code = "points.insufficient"
    message = "Not enough points."


class PointsInvalidAmount(ValidationFailed):
    code = "points.invalid_amount"
    message = "The points amount is invalid."


class PointsBelowMinimum(ValidationFailed):
    code = "points.below_minimum"
    message = "Fewer points than the minimum that can be spent."


class SpendNotFound(NotFound):
    code = "points.spend_not_found"
    message = "No points were spent under this reference."


class GrowthTaskUnknown(ValidationFailed):
    code = "growth.unknown_task"
    message = "Unknown growth task."


class GrowthTaskDone(Conflict):
    code = "growth.task_done"
    message = "This task was already rewarded for this customer."
