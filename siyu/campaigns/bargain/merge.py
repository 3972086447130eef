"""Customer merges: the merged customer's bargains, helps and daily help tallies become
the survivor's (rules in ``siyu.campaigns.helping``; synchronous re-pointers run in
the merge's own transaction)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from siyu.campaigns import helping
from siyu.customers.merge import register_repointer
from siyu.models.bargain import Bargain, BargainHelp, BargainStatus

_OPEN = (BargainStatus.ACTIVE.value, BargainStatus.REACHED.value)
_LIVE = (*_OPEN, BargainStatus.ORDERED.value)


def _bargains(session: Session, survivor_id: int, merged_id: int) -> int:
    return helping.repoint_initiator(session, Bargain, _OPEN, _LIVE, (survivor_id, merged_id))


def _helps(session: Session, survivor_id: int, merged_id: int) -> int:
    return helping.repoint_helps(
        session, BargainHelp, BargainHelp.bargain_id, (survivor_id, merged_id)
    )


register_repointer("bargain", _bargains)
register_repointer("bargain_help", _helps)
# The tally is shared by both mechanics; the bargain module registers it once.
register_repointer("helper_daily_tally", helping.merge_tallies)
