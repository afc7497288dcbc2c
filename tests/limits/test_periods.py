"""Local days and months for the daily/monthly budgets, DST included."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from podium.domain.periods import day_bounds, month_bounds, resolve_tz
from podium.errors import InvalidInput

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


@pytest.mark.parametrize(
    ("zone", "day"),
    [("America/Santiago", date(2025, 9, 6)), ("Asia/Beirut", date(2025, 3, 29)),
     ("America/Havana", date(2025, 3, 8)), ("Africa/Cairo", date(2025, 4, 24))],
)  # fmt: skip
def test_the_local_day_before_a_midnight_dst_jump_keeps_its_last_hour(local_zone, zone, day):
    # in these zones the clocks jump from 00:00 to 01:00, so the next midnight does not exist;
    # the default zone (tz=None, what the server uses) must still end the day at the jump
    local_zone(zone)
    tz = ZoneInfo(zone)
    late = datetime(day.year, day.month, day.day, 23, 30, tzinfo=tz).timestamp()
    start, end, key = day_bounds(late, None)
    assert key == day.isoformat()
    assert start <= late * 1000 < end
    assert (start, end) == day_bounds(late, tz)[:2]
    # and the next day starts where this one ends
    assert day_bounds(end / 1000, None)[0] == end


def test_a_doubled_local_midnight_starts_the_day_at_its_first_occurrence(local_zone) -> None:
    # Havana falls back from 01:00 to 00:00: 00:15 happens twice, both on 2025-11-02
    local_zone("America/Havana")
    havana = ZoneInfo("America/Havana")
    first = datetime(2025, 11, 2, 0, 15, tzinfo=havana).timestamp()
    start, end, key = day_bounds(first, None)
    assert key == "2025-11-02" and start <= first * 1000 < end
    assert end - start == 25 * 3_600_000
