"""Year profiles of a park: size, signs, and the physics of the shared weather."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from ems.park import Park
from grid_models import park_profiles, year_profiles


def test_year_of_quarter_hours(demo_park: Park) -> None:
    prof = year_profiles(demo_park, 2026, seed=1)
    assert prof.p_kw.shape == (35_040, 12) and len(prof.times) == 35_040
    # 2026-01-01 00:00 Asia/Shanghai is 2025-12-31 16:00 UTC
    assert prof.times[0] == np.datetime64("2025-12-31T16:00")
    ids = prof.device_ids
    pv = prof.p_kw[:, ids.index("PV_CELLS")]
    assert pv.min() == 0 and pv.max() <= 10_000  # clipped at the inverter rating
    load = prof.p_kw[:, ids.index("LOAD_CELLS")]
    assert load.max() <= 0 and -load.max() > 0.7 * 22_000  # continuous process: shape never below 80 % of peak
    assert np.all(prof.p_kw[:, ids.index("BESS")] == 0)
    direct = prof.p_kw[:, ids.index("DG-SALTFLAT-PV")]
    assert direct.max() <= 12_000  # limited by the dedicated line's capacity
    # local midnight has no sun; local noon in June does
    hours_local = (prof.times.astype("datetime64[h]").astype(np.int64) + 8) % 24
    assert np.all(pv[hours_local == 0] == 0)
    june_noon = (hours_local == 12) & (prof.times.astype("datetime64[M]") == np.datetime64("2026-06"))
    assert pv[june_noon].mean() > 3_000
    # wind energy: a 20 MW farm at a 7 m/s mean site yields a capacity factor of 15-45 %
    cf = prof.p_kw[:, ids.index("WIND")].mean() / 20_000
    assert 0.15 < cf < 0.45


def test_same_seed_same_profiles(demo_park: Park) -> None:
    start = dt.datetime(2026, 3, 1, tzinfo=demo_park.tz)
    a, b = park_profiles(demo_park, start, 96, seed=4), park_profiles(demo_park, start, 96, seed=4)
    np.testing.assert_array_equal(a.p_kw, b.p_kw)
    with pytest.raises(ValueError, match="timezone-aware"):
        park_profiles(demo_park, dt.datetime(2026, 3, 1), 96)
