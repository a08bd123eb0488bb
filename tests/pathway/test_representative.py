"""Representative days (tsam) against the full chronology: same annual energies, a measured cost error."""

from __future__ import annotations

import numpy as np
import pytest

from ems.park import example_park_path, load_park
from services.pathway.data import sizing_data
from services.pathway.options import load_options
from services.pathway.representative import representative_error, representative_periods
from services.pathway.solve import solve_sizing
from tests.pathway.helpers import tiny

DEMO_OPTIONS = example_park_path("demo").parent / "demo_pathway.yaml"


def test_four_weeks_on_six_days() -> None:
    park = load_park(example_park_path("demo"))
    d = sizing_data(park, load_options(DEMO_OPTIONS), hours=24 * 28)
    rep = representative_periods(d, 6)
    assert rep.T <= 6 * 24 and rep.weight.sum() == d.T  # every hour of the four weeks is represented
    assert rep.period_start.sum() == rep.T // 24  # storage starts each representative day at its floor
    for col in ("load_kw", "cf_pv", "cf_wind", "re_existing_kw"):  # tsam keeps column means: annual energies
        assert np.dot(rep.weight, getattr(rep, col)) == pytest.approx(getattr(d, col).sum(), rel=1e-6)
    full, short = solve_sizing(d), solve_sizing(rep)
    err = representative_error(full, short, 6)
    # measured on the demo park's first four weeks: 4.9 % (4 days), 5.4 % (6), 5.3 % (8), 1.5 % (14);
    # a wrong weighting would be off by the day count (hundreds of percent)
    assert abs(err.cost_rel) < 0.08
    assert abs(err.co2_rel) < 0.01  # the targets bind in both


def test_fewer_days_than_asked_returns_the_data_and_partial_days_are_refused() -> None:
    d = tiny(48)
    assert representative_periods(d, 5) is d
    with pytest.raises(ValueError, match="whole days"):
        representative_periods(tiny(30), 2)
