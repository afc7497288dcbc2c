"""Local-time periods (days, months) as epoch-ms bounds."""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from podium.errors import InvalidInput


def resolve_tz(tz: str | tzinfo | None) -> tzinfo | None:
    """None → the machine's local zone (resolved per call, so DST is right)."""
    if tz is None or isinstance(tz, tzinfo):
        return tz
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"unknown time zone {tz!r}", field="tz") from exc


def _local(dt: datetime, tz: tzinfo | None) -> datetime:
    return dt.astimezone(tz) if tz is not None else dt.astimezone()


def _midnight(day: date, tz: tzinfo | None) -> datetime:
    if tz is None:
        from podium.usage.reports import local_zone

        # not naive.astimezone(): where DST starts at midnight (Santiago, Beirut, Cairo) that
        # maps the missing 00:00 to 23:00 of the day before; zoneinfo gives the jump itself
        tz = local_zone()
    naive = datetime(day.year, day.month, day.day)
    return naive.replace(tzinfo=tz) if tz is not None else naive.astimezone()


def day_bounds(now: float, tz: tzinfo | None) -> tuple[int, int, str]:
    """[start, end) in ms of the local day containing `now`, and its `YYYY-MM-DD`."""
    today = _local(datetime.fromtimestamp(now).astimezone(), tz).date()
    return (*date_range_ms(today, today, tz), today.isoformat())


def month_bounds(now: float, tz: tzinfo | None) -> tuple[int, int, str]:
    today = _local(datetime.fromtimestamp(now).astimezone(), tz).date()
    first = today.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    start = int(_midnight(first, tz).timestamp() * 1000)
    end = int(_midnight(nxt, tz).timestamp() * 1000)
    return start, end, first.strftime("%Y-%m")


def date_range_ms(since: date | None, until: date | None, tz: tzinfo | None) -> tuple[int, int]:
    """Inclusive local dates → [start, end) ms; a missing side is open (0 / far future)."""
    start = int(_midnight(since, tz).timestamp() * 1000) if since else 0
    end = int(_midnight(until + timedelta(days=1), tz).timestamp() * 1000) if until else 2**62
    return start, end
