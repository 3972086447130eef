"""Customer merges: the merged customer's assists and assist helps become the
survivor's (rules in ``siyu.campaigns.helping``; the shared daily tally is merged by
``siyu.campaigns.bargain.merge``)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from siyu.campaigns import helping
from siyu.customers.merge import register_repointer
from siyu.models.bargain import Assist, AssistHelp, AssistStatus

_OPEN = (AssistStatus.ACTIVE.value,)
_LIVE = (AssistStatus.ACTIVE.value, AssistStatus.UNLOCKED.value)


def _assists(session: Session, survivor_id: int, merged_id: int) -> int:
    return helping.repoint_initiator(session, Assist, _OPEN, _LIVE, (survivor_id, merged_id))


def _helps(session: Session, survivor_id: int, merged_id: int) -> int:
    return helping.repoint_helps(
        session, AssistHelp, AssistHelp.assist_id, (survivor_id, merged_id)
    )


register_repointer("assist", _assists)
register_repointer("assist_help", _helps)
