from __future__ import annotations

from datetime import UTC, datetime

import pytest

from reactor.errors import InvalidArgumentError
from reactor.jobs import parse_window, window_intervals


def ts(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


def test_window_across_midnight_utc():
    spans = window_intervals("22:00-06:00", "UTC", ts(2025, 6, 10, 12))
    assert (ts(2025, 6, 10, 22), ts(2025, 6, 11, 6)) in spans
    assert all(end - start == 8 * 3600 for start, end in spans)


def test_window_on_dst_days_in_berlin():
    # 2025-03-30: clocks jump 02:00 -> 03:00 (CET -> CEST): the night is one hour shorter.
    spring = window_intervals("22:00-06:00", "Europe/Berlin", ts(2025, 3, 29, 12))
    night = next(span for span in spring if span[0] == ts(2025, 3, 29, 21))  # 22:00 CET = 21:00 UTC
    assert night[1] == ts(2025, 3, 30, 4)  # 06:00 CEST = 04:00 UTC: 7 hours
    # 2025-10-26: clocks fall back 03:00 -> 02:00: that night has 9 hours.
    autumn = window_intervals("22:00-06:00", "Europe/Berlin", ts(2025, 10, 25, 12))
    night = next(span for span in autumn if span[0] == ts(2025, 10, 25, 20))  # 22:00 CEST
    assert night[1] - night[0] == 9 * 3600


def test_window_starting_in_the_spring_gap():
    spans = window_intervals("02:30-04:00", "Europe/Berlin", ts(2025, 3, 30, 12))
    start, end = next(span for span in spans if ts(2025, 3, 30) <= span[0] < ts(2025, 3, 31))
    assert start == ts(2025, 3, 30, 1)  # 02:30 does not exist: the window opens at 03:00 CEST
    assert end == ts(2025, 3, 30, 2)  # 04:00 CEST


@pytest.mark.parametrize("bad", ["", "22-06", "24:00-01:00", "10:00-10:00", "9:60-10:00"])
def test_bad_windows(bad):
    with pytest.raises(InvalidArgumentError):
        parse_window(bad)
