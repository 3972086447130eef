"""Promoter codes in share links: a customer promoter's posters carry their promoter
code (so a scan binds the visitor to them), and checkout resolves that code back to the
customer who shared, like any customer share code (``siyu.campaigns.posters.share``)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.campaigns.posters import share
from siyu.models.referral import Promoter, PromoterStatus


def promoter_code(session: Session, customer_id: int) -> str | None:
    return session.scalar(
        select(Promoter.code).where(
            Promoter.customer_id == customer_id, Promoter.status == PromoterStatus.ACTIVE
        )
    )


def customer_behind(session: Session, code: str) -> int | None:
    """The customer promoter behind ``code``; guides' codes have no customer."""
    return session.scalar(
        select(Promoter.customer_id).where(
            Promoter.code == code.upper(), Promoter.status == PromoterStatus.ACTIVE
        )
    )


share.register_code_provider("referral.promoter_code", promoter_code)
share.register_code_resolver("referral.promoter_code", customer_behind)
