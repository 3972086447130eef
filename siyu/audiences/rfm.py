"""RFM scores (1–5 each) and the 8 classic groups (docs/traits.md, "RFM").

Only customers with at least one paid order are scored; the others have no scores and
no group. R ranks the last paid order's time (more recent scores higher), F the number
of paid orders, M the spend (paid minus refunded, fen), all lifetime.

Quantile method: ``score = 1 + ⌊5 · (rank − 1) / n⌋`` where ``rank`` is SQL ``RANK()``
over the n scored customers in ascending order. Ties share the lowest rank, so **equal
values always get the same score**; a large tie (most customers have one order) puts
the whole tie in the lower score and the next score starts after it. In a subset run
the ranks are taken over the whole population (the subset's new values plus everybody
else's stored ones), so a subset run scores those customers like a full run would.

Threshold method: fixed cut points (``RfmThresholds``); R uses whole days since the
last paid order, measured at ``now``.

Groups: a score ≥ ``split`` (default 3) is "high"; (R, F, M) high/low → the 8 groups.
"""

from __future__ import annotations

from dataclasses import dataclass

from siyu.audiences.config_schemas import AudienceSettings, RfmMethod
from siyu.audiences.traits_sql import MICROSECONDS_PER_DAY


@dataclass(frozen=True)
class RfmGroup:
    code: str
    label: str
    recency_high: bool
    frequency_high: bool
    monetary_high: bool


GROUPS: tuple[RfmGroup, ...] = (
    RfmGroup("important_value", "重要价值", True, True, True),
    RfmGroup("important_develop", "重要发展", True, False, True),
    RfmGroup("important_keep", "重要保持", False, True, True),
    RfmGroup("important_retain", "重要挽留", False, False, True),
    RfmGroup("general_value", "一般价值", True, True, False),
    RfmGroup("general_develop", "一般发展", True, False, False),
    RfmGroup("general_keep", "一般保持", False, True, False),
    RfmGroup("general_retain", "一般挽留", False, False, False),
)
GROUP_CODES: tuple[str, ...] = tuple(group.code for group in GROUPS)
TAG_GROUP = "RFM"
TAG_SOURCE = "rfm"


def group_of(recency: int, frequency: int, monetary: int, split: int) -> str:
    """The group code of three scores (the Python twin of ``GROUP_SQL``)."""
    for group in GROUPS:
        if (
            (recency >= split) == group.recency_high
            and (frequency >= split) == group.frequency_high
            and (monetary >= split) == group.monetary_high
        ):
            return group.code
    raise AssertionError("the 8 groups cover every combination")


def tag_rule(code: str) -> dict[str, object]:
    """The rule (siyu.audiences.rules) of the RFM tag of group ``code``."""
    return {"trait": "rfm_group", "op": "=", "value": code}


def _group_sql(split: int) -> str:
    cases = " ".join(
        "WHEN "
        + " AND ".join(
            f"{column} {'>=' if high else '<'} {split}"
            for column, high in (
                ("rfm_recency", group.recency_high),
                ("rfm_frequency", group.frequency_high),
                ("rfm_monetary", group.monetary_high),
            )
        )
        + f" THEN '{group.code}'"
        for group in GROUPS
    )
    return f"CASE {cases} END"


def _quantile(column: str) -> str:
    return f"(1 + 5 * (rank() OVER (ORDER BY {column}) - 1) // count(*) OVER ())::BIGINT"


def _rising_thresholds(column: str, cuts: list[int]) -> str:
    # 1 + the number of cut points at or below the value.
    return "(1" + "".join(f" + ({column} >= {int(cut)})::INT" for cut in cuts) + ")::BIGINT"


def _recency_thresholds(cuts: list[int]) -> str:
    days = f"((epoch_us($now) - epoch_us(last_order_at)) // {MICROSECONDS_PER_DAY})"
    whens = " ".join(
        f"WHEN {days} <= {int(cut)} THEN {5 - index}" for index, cut in enumerate(cuts)
    )
    return f"(CASE {whens} ELSE 1 END)::BIGINT"


def scores_sql(settings: AudienceSettings, *, subset: bool) -> str:
    """``_rfm``: scores and group of every customer in ``_scope`` with a paid order.

    ``_base`` holds the scope's new values; in a subset run the population is
    completed with the stored traits of the other live customers (view ``traits``).
    """
    rfm = settings.rfm
    population = "SELECT customer_id, last_order_at, orders_total, spend_total FROM _base"
    if subset:
        population += """
        UNION ALL
        SELECT customer_id, last_order_at, orders_total, spend_total FROM traits
        WHERE customer_id NOT IN (SELECT customer_id FROM _scope)
          AND customer_id IN (SELECT customer_id FROM live_customers)"""
    if rfm.method == RfmMethod.QUANTILE:
        recency = _quantile("last_order_at")
        frequency = _quantile("orders_total")
        monetary = _quantile("spend_total")
    else:
        cuts = rfm.thresholds
        recency = _recency_thresholds(cuts.recency_days)
        frequency = _rising_thresholds("orders_total", cuts.frequency_orders)
        monetary = _rising_thresholds("spend_total", cuts.monetary_fen)
    return f"""
CREATE OR REPLACE TEMP TABLE _rfm AS
WITH scored AS (
    SELECT customer_id, {recency} AS rfm_recency, {frequency} AS rfm_frequency,
           {monetary} AS rfm_monetary
    FROM ({population}) WHERE orders_total > 0
)
SELECT customer_id, rfm_recency, rfm_frequency, rfm_monetary,
       {_group_sql(rfm.split)} AS rfm_group
FROM scored
WHERE customer_id IN (SELECT customer_id FROM _scope)
"""
