"""Date ranges, grains and local days: how every analytics view reads time.

Periods are inclusive ranges of calendar days in the brand's time zone
(``settings.timezone``); stored times are naive UTC (the warehouse contract), so a
period becomes a half-open UTC range for filtering and each row's local day is
computed in SQL by :func:`local_day_sql`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from siyu.analytics.errors import InvalidPeriod

# Two years and a day: enough for a year-over-year comparison of a whole year.
MAX_PERIOD_DAYS = 732


class Grain(StrEnum):
    DAY = "day"
    WEEK = "week"  # ISO weeks, starting on Monday
    MONTH = "month"


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise InvalidPeriod(
                "The period ends before it starts.",
                data={"start": self.start.isoformat(), "end": self.end.isoformat()},
            )
        if self.days > MAX_PERIOD_DAYS:
            raise InvalidPeriod(
                f"A period is at most {MAX_PERIOD_DAYS} days.",
                data={"days": self.days, "max_days": MAX_PERIOD_DAYS},
            )

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period of the same length that ends the day before this one starts."""
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def utc_bounds(self, timezone: str) -> tuple[datetime, datetime]:
        """Naive UTC [from, to) covering the local days start..end."""
        zone = ZoneInfo(timezone)
        begin = datetime.combine(self.start, time(), tzinfo=zone)
        finish = datetime.combine(self.end + timedelta(days=1), time(), tzinfo=zone)
        return (
            begin.astimezone(UTC).replace(tzinfo=None),
            finish.astimezone(UTC).replace(tzinfo=None),
        )

    def where(self, column: str, timezone: str, *, partition_slack_days: int | None = None) -> str:
        """A SQL predicate keeping rows whose ``column`` (naive UTC) is in the period.

        With ``partition_slack_days`` it also bounds the hive ``day`` partition (a UTC
        day) so DuckDB skips whole files: orders are partitioned by creation day and
        paid later, so their slack is the longest wait for payment."""
        begin, finish = self.utc_bounds(timezone)
        low_time, high_time = begin.isoformat(sep=" "), finish.isoformat(sep=" ")
        predicate = f"{column} >= TIMESTAMP '{low_time}' AND {column} < TIMESTAMP '{high_time}'"
        if partition_slack_days is not None:
            low = begin.date() - timedelta(days=partition_slack_days)
            high = finish.date()
            predicate += f" AND day BETWEEN DATE '{low.isoformat()}' AND DATE '{high.isoformat()}'"
        return predicate


def parse_period(
    start: date | None, end: date | None, *, today: date, default_days: int = 30
) -> Period:
    """The period a request names; without dates, the ``default_days`` ending yesterday
    (today is not over, so it would always look like a drop)."""
    if start is None and end is None:
        end = today - timedelta(days=1)
        return Period(end - timedelta(days=default_days - 1), end)
    if start is None or end is None:
        raise InvalidPeriod("Give both the start and the end of the period, or neither.")
    return Period(start, end)


def _fixed_offset_seconds(timezone: str, around: date) -> int | None:
    """The zone's UTC offset if it did not change within two years of ``around``."""
    zone = ZoneInfo(timezone)
    offsets = set()
    for month in range(-24, 25, 3):
        moment = datetime.combine(around, time(12), tzinfo=UTC) + timedelta(days=30 * month)
        offset = moment.astimezone(zone).utcoffset()
        offsets.add(int(offset.total_seconds()) if offset is not None else 0)
    return offsets.pop() if len(offsets) == 1 else None


def local_timestamp_sql(column: str, timezone: str, *, around: date) -> str:
    """SQL turning a naive UTC ``column`` into the brand's local naive time.

    A zone without daylight saving (Asia/Shanghai) is a fixed interval, about 12×
    faster than DuckDB's ICU time-zone conversion over 10 M rows (0.05 s vs 0.65 s
    measured here); zones with daylight saving use ICU."""
    offset = _fixed_offset_seconds(timezone, around)
    if offset is not None:
        return f"({column} + INTERVAL {offset} SECOND)"
    quoted = timezone.replace("'", "''")
    return f"timezone('{quoted}', {column} AT TIME ZONE 'UTC')"


def local_day_sql(column: str, timezone: str, *, around: date) -> str:
    return f"CAST({local_timestamp_sql(column, timezone, around=around)} AS DATE)"


def bucket_sql(day_expression: str, grain: Grain) -> str:
    """SQL of the first day of the grain's bucket holding ``day_expression``."""
    if grain is Grain.DAY:
        return day_expression
    return f"CAST(date_trunc('{grain.value}', {day_expression}) AS DATE)"


def bucket_of(day: date, grain: Grain) -> date:
    """Python twin of :func:`bucket_sql` (tests and gap filling)."""
    if grain is Grain.DAY:
        return day
    if grain is Grain.WEEK:
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def buckets(period: Period, grain: Grain) -> list[date]:
    """Every bucket the period touches, in order, so charts show empty days as 0."""
    seen: list[date] = []
    day = period.start
    while day <= period.end:
        bucket = bucket_of(day, grain)
        if not seen or seen[-1] != bucket:
            seen.append(bucket)
        day += timedelta(days=1)
    return seen
