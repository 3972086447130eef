"""A batch of coupon claims in one PostgreSQL statement.

Per claim, PostgreSQL spent ~150 µs executing the one-claim statement
(``claim_sql``): executor start-up, four CTEs, the foreign-key triggers. Here a
whole round of claims goes as arrays (``unnest``) through the same steps, set-wise:

1. ``live``: the claims whose customer is active;
2. ``tally``: their tallies inserted or bumped, the bump refused past the template's
   per-customer or per-day limit (read from the template row itself);
3. ``room``: per template, how many of the claims that took a tally fit under the
   total (``granted``), read from the statement's snapshot;
4. ``counted``: the template's ``issued_count`` bumped by ``granted`` while active;
5. ``issued``: a coupon for the first ``granted`` of them, in the claims' order.

What each claim got comes back in order, as the one-claim statement reports it,
and the writer gives back the tallies of claims refused after step 2.

**Exact under concurrency.** ``granted`` is computed from the snapshot. If another
process counted coupons of the same template since, the bump would pass the total:
the template's CHECK constraint (``issued_within_total``) then fails the statement,
the writer's batch fails, and its claims are written again one by one with the
one-claim statement, whose conditional UPDATE re-reads the row. A template paused
meanwhile is caught by ``status = 'active'``, which the UPDATE re-checks on the
latest row.

A round holds each (template, customer) pair once: ``ON CONFLICT DO UPDATE`` may
not touch a row twice in one statement. A customer's second claim in the same batch
goes in the next round, which sees the first round's effects.
"""

from __future__ import annotations

from typing import Any

from siyu.coupons.claim_sql import ACTIVE_TEMPLATE, LIVE_CUSTOMER, ClaimRow, Outcome
from siyu.models.coupon import CouponStatus

CLAIM_BATCH_SQL = f"""
WITH input AS (
    SELECT * FROM unnest(
        %s::bigint[], %s::bigint[], %s::text[], %s::text[], %s::date[],
        %s::timestamptz[], %s::timestamptz[], %s::timestamptz[]
    ) WITH ORDINALITY AS claim(
        template_id, customer_id, code, source, day, claimed_at, valid_from, valid_until, n
    )
),
live AS (
    SELECT i.* FROM input i JOIN customer c ON c.id = i.customer_id AND c.{LIVE_CUSTOMER}
),
tally AS (
    INSERT INTO coupon_tally AS ct (template_id, customer_id, claimed_total, day, claimed_on_day)
    SELECT template_id, customer_id, 1, day, 1 FROM live
    ON CONFLICT (template_id, customer_id) DO UPDATE SET
        claimed_total = ct.claimed_total + 1,
        claimed_on_day = CASE WHEN ct.day = excluded.day THEN ct.claimed_on_day + 1 ELSE 1 END,
        day = excluded.day
    WHERE EXISTS (
        SELECT 1 FROM coupon_template t WHERE t.id = excluded.template_id
        AND (t.per_customer_limit IS NULL OR ct.claimed_total < t.per_customer_limit)
        AND (t.per_day_limit IS NULL OR ct.day <> excluded.day
             OR ct.claimed_on_day < t.per_day_limit)
    )
    RETURNING ct.template_id, ct.customer_id
),
taken AS (
    SELECT l.n, l.template_id,
           row_number() OVER (PARTITION BY l.template_id ORDER BY l.n) AS place
    FROM live l JOIN tally USING (template_id, customer_id)
),
room AS (
    SELECT w.template_id,
           CASE WHEN t.total_quantity IS NULL THEN w.k
                ELSE LEAST(w.k, GREATEST(t.total_quantity - t.issued_count, 0)) END AS granted
    FROM (SELECT template_id, count(*) AS k FROM taken GROUP BY template_id) w
    JOIN coupon_template t ON t.id = w.template_id
),
counted AS (
    UPDATE coupon_template t SET issued_count = t.issued_count + r.granted, updated_at = %s
    FROM room r
    WHERE t.id = r.template_id AND r.granted > 0 AND t.{ACTIVE_TEMPLATE}
    RETURNING t.id AS template_id, r.granted
),
issued AS (
    INSERT INTO coupon (code, template_id, customer_id, status, source, source_ref, issued_by,
                        valid_from, valid_until, claimed_at, discount_amount)
    SELECT i.code, i.template_id, i.customer_id, '{CouponStatus.AVAILABLE.value}', i.source,
           NULL, 'customer', i.valid_from, i.valid_until, i.claimed_at, 0
    FROM taken tk
    JOIN counted c ON c.template_id = tk.template_id AND tk.place <= c.granted
    JOIN input i ON i.n = tk.n
    RETURNING id, code
)
SELECT l.n IS NOT NULL, tk.n IS NOT NULL, s.id
FROM input i
LEFT JOIN live l ON l.n = i.n
LEFT JOIN taken tk ON tk.n = i.n
LEFT JOIN issued s ON s.code = i.code
ORDER BY i.n
"""


def rounds(rows: list[ClaimRow]) -> list[list[int]]:
    """Positions of ``rows`` split so that no round repeats a (template, customer)."""
    result: list[list[int]] = []
    seen: dict[tuple[int, int], int] = {}
    for position, row in enumerate(rows):
        pair = (row.template_id, row.customer_id)
        index = seen.get(pair, -1) + 1
        seen[pair] = index
        if index == len(result):
            result.append([])
        result[index].append(position)
    return result


def claim_round(cursor: Any, rows: list[ClaimRow]) -> list[Outcome]:
    """Claims with distinct (template, customer) pairs, in one statement."""
    cursor.execute(
        CLAIM_BATCH_SQL,
        (
            [row.template_id for row in rows],
            [row.customer_id for row in rows],
            [row.code for row in rows],
            [row.source for row in rows],
            [row.today for row in rows],
            [row.now for row in rows],
            [row.valid_from for row in rows],
            [row.valid_until for row in rows],
            max(row.now for row in rows),
        ),
    )
    return [
        Outcome(bool(live), bool(taken), coupon_id) for live, taken, coupon_id in cursor.fetchall()
    ]


def claim_batch(cursor: Any, rows: list[ClaimRow]) -> list[Outcome]:
    """Every claim of ``rows``, in rounds; outcomes in the order of ``rows``."""
    outcomes: list[Outcome | None] = [None] * len(rows)
    for positions in rounds(rows):
        for position, outcome in zip(
            positions, claim_round(cursor, [rows[p] for p in positions]), strict=True
        ):
            outcomes[position] = outcome
    return [outcome for outcome in outcomes if outcome is not None]
