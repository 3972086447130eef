"""The audit of a bargain's cuts: recompute the plan from the stored seed and compare
it, help by help, with what was recorded. Any difference (a cut, a price, a help
beyond the plan) makes ``matches`` false."""

from __future__ import annotations

from sqlalchemy.orm import Session

from siyu.campaigns.bargain import cuts
from siyu.campaigns.bargain.bargains import helps_of, plan_of
from siyu.campaigns.bargain.schemas import AuditEntry, AuditOut
from siyu.models.bargain import Bargain


def audit(session: Session, bargain: Bargain) -> AuditOut:
    plan = plan_of(bargain)
    after = cuts.prices_after(bargain.start_price, plan)
    recorded = {help_.sequence: help_ for help_ in helps_of(session, bargain.id)}
    entries = [
        AuditEntry(
            sequence=index + 1,
            planned_cut=cut,
            recorded_cut=recorded[index + 1].cut_amount if index + 1 in recorded else None,
            planned_price_after=after[index],
            recorded_price_after=(
                recorded[index + 1].price_after if index + 1 in recorded else None
            ),
        )
        for index, cut in enumerate(plan)
    ]
    matches = (
        all(sequence <= len(plan) for sequence in recorded)
        and sorted(recorded) == list(range(1, len(recorded) + 1))
        and all(
            entry.recorded_cut in (None, entry.planned_cut)
            and entry.recorded_price_after in (None, entry.planned_price_after)
            for entry in entries
        )
        and bargain.helper_count == len(recorded)
        and bargain.current_price == (after[len(recorded) - 1] if recorded else bargain.start_price)
    )
    return AuditOut(
        public_id=bargain.public_id,
        seed=bargain.seed,
        start_price=bargain.start_price,
        floor_price=bargain.floor_price,
        expected_helpers=bargain.expected_helpers,
        entries=entries,
        matches=matches,
    )
