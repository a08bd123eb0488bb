"""The annual SOC heat map's day x time-of-day matrix, and the grid mix drawn grey (issue 21)."""

from __future__ import annotations

import types
from zoneinfo import ZoneInfo

import matplotlib.colors
import numpy as np

from services.annual_plots import GRID_MIX, soc_by_day


def test_soc_matrix_places_each_interval_at_its_local_day_and_time() -> None:
    # from 12:00 park time (04:00 UTC) on 1 January, 30 hours of 15-min SOC = 0, 1, 2, ... (scaled)
    times = np.datetime64("2026-01-01T04:00", "us") + np.arange(120) * np.timedelta64(15, "m")
    soc = np.arange(120) / 1000.0
    s = types.SimpleNamespace(times=times, dt_h=0.25, soc={"B1": soc, "B2": soc + 0.002}, T=120)
    days, grid = soc_by_day(s, ZoneInfo("Asia/Shanghai"))  # type: ignore[arg-type]
    assert [str(d) for d in days] == ["2026-01-01", "2026-01-02"]
    assert grid.shape == (2, 96)
    assert np.isnan(grid[0, :48]).all()  # before noon on the first day: not simulated
    assert grid[0, 48] == (0 + 0.002 / 2)  # 12:00 = slot 48, mean of the two batteries
    # + 0.001 everywhere: the mean of the two batteries
    assert grid[1, 0] == (48 + 1) / 1000.0  # 2 Jan 00:00 is interval 48 from the start
    assert grid[1, 71] == (119 + 1) / 1000.0 and np.isnan(grid[1, 72:]).all()  # the last interval starts at 17:45
    red, green, blue = matplotlib.colors.to_rgb(GRID_MIX)
    assert red == green == blue  # a grey
