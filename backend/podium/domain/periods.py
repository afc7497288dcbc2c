"""Local days and months as epoch-ms bounds: the one rule for "today" and "this month" (the
budgets, the status bar, reports, exports and `podium statusline`).

A local day is [the first instant of its date, the first instant of the next date) in the zone:
a DST day lasts 23 or 25 hours; where the clocks jump over midnight (Santiago, Beirut, Cairo,
Havana in spring) the day starts at the jump; where midnight happens twice (Havana in autumn) it
starts at the first. The machine's zone is `TZ`, else /etc/localtime, read with its DST rules.

zoneinfo is imported only when a zone is read (`podium statusline` runs this in a fresh process).
"""

from __future__ import annotations

import functools
import os
from datetime import UTC, date, datetime, timedelta, tzinfo

from podium.errors import InvalidInput


def local_zone() -> tzinfo | None:
    """The machine's zone with its DST rules (`TZ`, else /etc/localtime), or None when it cannot
    be read as a zoneinfo zone. Read once per `TZ` value: the server asks for every bound."""
    return _zone_for(os.environ.get("TZ", ""))


@functools.lru_cache(maxsize=8)
def _zone_for(tz_env: str) -> tzinfo | None:
    from zoneinfo import ZoneInfo

    name = tz_env.removeprefix(":").strip()
    try:
        if name.startswith("/"):
            with open(name, "rb") as fh:
                return ZoneInfo.from_file(fh, key=name)
        if name:
            return ZoneInfo(name)
        with open("/etc/localtime", "rb") as fh:
            return ZoneInfo.from_file(fh, key="localtime")
    except (OSError, ValueError, KeyError):  # KeyError: ZoneInfoNotFoundError (`TZ=EST+5`)
        return None


def resolve_tz(tz: str | tzinfo | None, field: str = "tz") -> tzinfo | None:
    """A zone name (or tzinfo) → tzinfo; None stays None: the machine's zone, read per call so
    a long-running server follows it. An unknown name is InvalidInput naming `field`."""
    if tz is None or isinstance(tz, tzinfo):
        return tz
    if not tz:
        return None
    if tz.upper() == "UTC":
        return UTC
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"unknown time zone {tz!r}; give an IANA name such as Europe/Paris, "
                           "or UTC", field=field) from exc  # fmt: skip


def concrete_tz(tz: tzinfo | None) -> tzinfo:
    """`tz`, or the machine's zone now (its fixed offset today when no zone file can be read)."""
    return tz or local_zone() or datetime.now().astimezone().tzinfo or UTC


def zone_label(tz: tzinfo, asked: str | None = None) -> str:
    """The zone's IANA name for JSON and titles (`UTC`, `Europe/Paris`), else its offset
    (`UTC+05:30`); never the `localtime` key the machine's zone is read under."""
    if asked:
        return "UTC" if asked.upper() == "UTC" else asked
    key = getattr(tz, "key", None)
    if key and key != "localtime" and not key.startswith("/"):
        return key
    try:  # /etc/localtime → …/zoneinfo/Europe/Paris
        target = os.path.realpath(key if key and key.startswith("/") else "/etc/localtime")
        if "zoneinfo/" in target:
            return target.split("zoneinfo/", 1)[1]
    except OSError:
        pass
    offset = datetime.now(tz).strftime("%z")
    return f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"


def midnight(day: date, tz: tzinfo | None) -> datetime:
    """The first instant of `day` in `tz` (None: the machine's zone)."""
    zone = tz or local_zone()
    naive = datetime(day.year, day.month, day.day)
    # not naive.astimezone() when a zone can be read: where DST starts at midnight that maps the
    # missing 00:00 to 23:00 of the day before; zoneinfo (fold 0) gives the jump itself
    return naive.replace(tzinfo=zone) if zone is not None else naive.astimezone()


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def date_range_ms(since: date | None, until: date | None,
                  tz: tzinfo | None) -> tuple[int | None, int | None]:  # fmt: skip
    """Inclusive local dates → [start ms, end ms); a missing side stays open (None)."""
    start = _ms(midnight(since, tz)) if since is not None else None
    end = _ms(midnight(until + timedelta(days=1), tz)) if until is not None else None
    return start, end


def local_date(now: float, tz: tzinfo | None) -> date:
    """The date in `tz` (None: the machine's zone) at epoch seconds `now`."""
    zone = tz or local_zone()
    return datetime.fromtimestamp(now, zone).date() if zone else datetime.fromtimestamp(now).date()


def day_bounds(now: float, tz: tzinfo | None) -> tuple[int, int, str]:
    """[start, end) in ms of the local day containing `now`, and its `YYYY-MM-DD`."""
    today = local_date(now, tz)
    return (_ms(midnight(today, tz)), _ms(midnight(today + timedelta(days=1), tz)),
            today.isoformat())  # fmt: skip


def month_bounds(now: float, tz: tzinfo | None) -> tuple[int, int, str]:
    """[start, end) in ms of the local month containing `now`, and its `YYYY-MM`."""
    first = local_date(now, tz).replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return _ms(midnight(first, tz)), _ms(midnight(following, tz)), first.strftime("%Y-%m")
