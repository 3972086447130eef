"""Coupon claims through group commit (``siyu.core.group_commit``): one writer
thread writes every claim waiting at that moment in one transaction.

Refusals are not errors here: the statements (``claim_sql``) report what took
effect, and a claim refused after its tally was bumped gives the bump back in the
same transaction, as ``issuing.issue`` does — so a batch never needs a savepoint
per claim (two more round trips each on PostgreSQL). Only an unexpected database
error aborts the batch; its claims are then written again one transaction each,
so that only the claim that fails is refused (``coupon.claim_unavailable``).

The ``coupon.issued`` events of the batch go into the outbox in the same
transaction, in one bulk insert, and the worker is woken after the commit.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session, sessionmaker

from siyu.core import outbox
from siyu.core.errors import SiyuError
from siyu.core.group_commit import GroupCommitQueue
from siyu.core.notify import default_notifier
from siyu.coupons.claim_batch_pg import claim_batch
from siyu.coupons.claim_sql import ClaimRow, ClaimStatements, Outcome, statements_for
from siyu.coupons.errors import ClaimUnavailable, Exhausted, LimitReached, NotClaimable
from siyu.coupons.issuing import COUPON_ISSUED
from siyu.customers.errors import CustomerNotFound
from siyu.models.coupon import TemplateStatus

logger = logging.getLogger(__name__)


def _refusal(cursor: Any, sql: ClaimStatements, row: ClaimRow, outcome: Outcome) -> SiyuError:
    """The error ``issuing.issue`` raises for the same outcome, having undone it."""
    if not outcome.customer_live:
        return CustomerNotFound(data={"customer_id": row.customer_id})
    if not outcome.tally_taken:
        return LimitReached(
            data={
                "template_id": row.template_id,
                "per_customer_limit": row.per_customer_limit,
                "per_day_limit": row.per_day_limit,
            }
        )
    sql.give_back(cursor, row)
    if sql.template_status(cursor, row.template_id) != TemplateStatus.ACTIVE:
        return NotClaimable(data={"template_id": row.template_id, "reason": "inactive"})
    return Exhausted(data={"template_id": row.template_id})


def _event(row: ClaimRow, coupon_id: int) -> dict[str, Any]:
    return {
        "coupon_id": coupon_id,
        "template_id": row.template_id,
        "customer_id": row.customer_id,
        "source": row.source,
        "valid_until": row.valid_until.isoformat(),
    }


class ClaimWriter(GroupCommitQueue[ClaimRow, int]):
    """``await writer.run(row)``: the new coupon's id, or the claim's refusal."""

    def __init__(self, factory: sessionmaker[Session], *, max_batch: int = 256) -> None:
        super().__init__(self._write_claims, name="coupon-claim-writer", max_batch=max_batch)
        self._engine = factory.kw["bind"]

    def _write_claims(self, batch: list[ClaimRow]) -> list[int | BaseException]:
        try:
            with self._engine.begin() as connection:
                outcomes = self._claims(connection, batch)
        except Exception as error:
            if len(batch) == 1:
                logger.exception("coupon claim of customer %s failed", batch[0].customer_id)
                return [ClaimUnavailable(data={"reason": type(error).__name__})]
            logger.warning("a batch of %d coupon claims failed; one by one", len(batch))
            return [self._write_claims([row])[0] for row in batch]
        if any(isinstance(outcome, int) for outcome in outcomes):
            default_notifier().notify()  # the batch's coupon.issued events are in
        return outcomes

    @staticmethod
    def _claims(connection: Connection, batch: list[ClaimRow]) -> list[int | BaseException]:
        sql = statements_for(connection.dialect)
        cursor = connection.connection.cursor()
        outcomes: list[int | BaseException] = []
        issued: list[dict[str, Any]] = []
        try:
            if sql.is_sqlite or len(batch) == 1:
                claimed = sql.claim_all(cursor, batch)
            else:
                claimed = claim_batch(cursor, batch)
            for row, outcome in zip(batch, claimed, strict=True):
                if outcome.coupon_id is None:
                    outcomes.append(_refusal(cursor, sql, row, outcome))
                    continue
                outcomes.append(outcome.coupon_id)
                issued.append(_event(row, outcome.coupon_id))
        finally:
            cursor.close()
        if issued:
            with Session(bind=connection) as session:
                outbox.emit_many(session, COUPON_ISSUED, issued)
        return outcomes
