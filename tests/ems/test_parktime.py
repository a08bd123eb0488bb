"""Park time (issue 12: one helper instead of five UTC-offset computations)."""

from __future__ import annotations

import numpy as np

from ems.parktime import is_weekend, local_datetimes, local_hours, local_times


def _utc(*stamps: str) -> np.ndarray:
    return np.array(stamps, dtype="datetime64[us]")


def test_fixed_offset_zone() -> None:
    # Asia/Shanghai is UTC+8 all year (no DST since 1991): 23:45 UTC is 07:45 next day local
    t = _utc("2026-01-01T23:45", "2026-07-01T23:45")
    assert list(local_times(t, "Asia/Shanghai")) == list(_utc("2026-01-02T07:45", "2026-07-02T07:45"))
    np.testing.assert_allclose(local_hours(t, "Asia/Shanghai"), [7.75, 7.75])


def test_daylight_saving_change_is_taken_per_instant() -> None:
    # EU summer time starts 2026-03-29 01:00 UTC (last Sunday of March): CET +1 before, CEST +2 after
    t = _utc("2026-03-29T00:30", "2026-03-29T01:30")
    np.testing.assert_allclose(local_hours(t, "Europe/Berlin"), [1.5, 3.5])
    assert [d.isoformat() for d in local_datetimes(t, "Europe/Berlin")] == [
        "2026-03-29T01:30:00+01:00",
        "2026-03-29T03:30:00+02:00",
    ]


def test_weekend_follows_the_local_calendar() -> None:
    # Friday 2026-05-01 17:00 UTC is Saturday 01:00 in Shanghai, still Friday in New York (13:00 EDT)
    t = _utc("2026-05-01T17:00")
    assert is_weekend(t, "Asia/Shanghai").tolist() == [True]
    assert is_weekend(t, "America/New_York").tolist() == [False]
