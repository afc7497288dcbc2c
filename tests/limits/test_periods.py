"""Local days and months for the daily/monthly budgets, DST included."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from podium.errors import InvalidInput
from podium.limits.periods import day_bounds, month_bounds, resolve_tz

NY = ZoneInfo("America/New_York")


def test_a_dst_day_is_23_hours_and_starts_at_local_midnight() -> None:
    noon = datetime(2026, 3, 8, 12, 0, tzinfo=NY).timestamp()
    start, end, key = day_bounds(noon, NY)
    assert key == "2026-03-08"
    assert (end - start) == 23 * 3_600_000
    assert datetime.fromtimestamp(start / 1000, NY).hour == 0


def test_month_bounds_in_a_zone_far_from_utc() -> None:
    kolkata = resolve_tz("Asia/Kolkata")
    # 2026-10-31T20:00Z is already November 1st in Kolkata
    start, end, key = month_bounds(datetime(2026, 10, 31, 20, 0, tzinfo=ZoneInfo("UTC")).timestamp(),
                                   kolkata)  # fmt: skip
    assert key == "2026-11"
    assert datetime.fromtimestamp(start / 1000, kolkata) == datetime(2026, 11, 1, tzinfo=kolkata)
    assert datetime.fromtimestamp(end / 1000, kolkata) == datetime(2026, 12, 1, tzinfo=kolkata)


def test_unknown_zone_is_a_clear_error() -> None:
    with pytest.raises(InvalidInput) as err:
        resolve_tz("Mars/Olympus")
    assert err.value.field == "tz"
