"""Stable error codes of the lottery. Every refusal changes nothing."""

from __future__ import annotations

from siyu.core.errors import Conflict, NotFound, ValidationFailed


class LotteryNotFound(NotFound):
    code = "lottery.not_found"
    message = "No such lottery."


class InvalidLottery(ValidationFailed):
    """Probabilities over 10,000, a prize without its reward, an unknown coupon or SKU …"""

    code = "lottery.invalid"
    message = "The lottery is invalid."


class PrizeTableLocked(Conflict):
    """Customers have drawn against the table: its odds and prizes can no longer change
    (stock can still be added)."""

    code = "lottery.prize_table_locked"
    message = "The lottery has started; its prize table can no longer change."


class PrizeNotFound(NotFound):
    code = "lottery.prize_not_found"
    message = "No such prize in this lottery."


class NoChancesLeft(Conflict):
    code = "lottery.no_chances_left"
    message = "No draws left today."


class PointsInsufficient(Conflict):
    code = "lottery.points_insufficient"
    message = "Not enough points for a draw."


class DrawNotFound(NotFound):
    code = "lottery.draw_not_found"
    message = "No such draw."


class NotClaimable(Conflict):
    """Not a goods prize of this customer's, or already claimed."""

    code = "lottery.not_claimable"
    message = "This prize cannot be claimed."


class ClaimExpired(Conflict):
    code = "lottery.claim_expired"
    message = "The time to claim this prize has passed."
