"""Night-shift windows: ``"22:00-06:00"`` in an IANA time zone, turned into UTC intervals.

The engine takes UTC ``[start, end)`` intervals; the wall-clock arithmetic (midnight, DST) happens
here with :mod:`zoneinfo`. A window that crosses midnight belongs to the day it opens. A local time
that does not exist (the spring-forward gap) maps to the instant after the gap; one that occurs
twice (fall back) means its first occurrence.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from reactor.errors import InvalidArgumentError

__all__ = ["parse_window", "resolve_tz", "window_intervals"]

_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def parse_window(text: str) -> tuple[time, time]:
    """Parse ``"HH:MM-HH:MM"`` (``24:00`` allowed as an end); start == end is rejected."""
    match = _WINDOW.match(text or "")
    if not match:
        raise InvalidArgumentError(f"[jobs.window] window must look like 22:00-06:00, got {text!r}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2 != 0):
        raise InvalidArgumentError(f"[jobs.window] window {text!r} has an hour or minute out of range")
    start = time(h1, m1)
    end = time(0, 0) if h2 == 24 else time(h2, m2)
    if start == end:
        raise InvalidArgumentError(f"[jobs.window] window {text!r} is empty (start == end)")
    return start, end


def resolve_tz(name: str) -> ZoneInfo:
    """The IANA zone ``name`` or an error naming it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise InvalidArgumentError(f"[jobs.window] unknown time zone {name!r}") from error


def _instant(day: date, at: time, tz: ZoneInfo) -> float:
    local = datetime.combine(day, at, tzinfo=tz)
    before = local.astimezone(UTC).timestamp()
    if datetime.fromtimestamp(before, tz).replace(tzinfo=None) == local.replace(tzinfo=None):
        return before
    # A nonexistent local time (the spring gap): the window opens when the gap ends, i.e. at the
    # transition, found by bisection between the two readings of the wall time.
    after = local.replace(fold=1).astimezone(UTC).timestamp()
    lo, hi = min(before, after), max(before, after)
    target = datetime.fromtimestamp(hi, tz).utcoffset()
    while hi - lo > 0.5:
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if datetime.fromtimestamp(mid, tz).utcoffset() == target else (mid, hi)
    return float(round(hi))


def window_intervals(text: str, tz_name: str, around: float, days: int = 2) -> list[tuple[float, float]]:
    """UTC intervals of the window for the local days from one before ``around`` to ``days`` after."""
    start, end = parse_window(text)
    tz = resolve_tz(tz_name)
    today = datetime.fromtimestamp(around, tz).date()
    out = []
    for offset in range(-1, days + 1):
        day = today + timedelta(days=offset)
        close_day = day + timedelta(days=1) if end <= start else day
        opens, closes = _instant(day, start, tz), _instant(close_day, end, tz)
        if opens < closes:
            out.append((opens, closes))
    return out
