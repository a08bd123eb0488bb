"""Problem building from the park file: tariff periods, contract proration, flexible-load energy."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from dispatch.from_park import problem_from_park, solver_options
from ems.forecast import Forecast
from ems.park import DispatchSettings, Park

NOON_LOCAL = dt.datetime(2026, 7, 15, 4, 0, tzinfo=dt.UTC)  # 12:00 Beijing time


def _flat_forecast(park: Park, start: dt.datetime, n: int) -> Forecast:
    fc = Forecast(start, 15)
    for d in park.devices_of("load"):
        fc.load_kw[d.id] = np.full(n, 0.8 * d.p_peak_kw)
    for d in park.devices_of("pv"):
        fc.pv_kw[d.id] = np.zeros(n)
    return fc


def test_tou_prices_contract_and_flex_blocks(demo_park: Park) -> None:
    p = problem_from_park(demo_park, _flat_forecast(demo_park, NOON_LOCAL, 96))
    # demo tariff in July (examples/demo_park.yaml): 12:00-14:00 flat 0.6418, 14:00-15:00 critical peak
    # 1.2836, 17:00-22:00 peak 1.0697, 00:00-08:00 valley 0.2589
    assert p.import_price[0] == pytest.approx(0.6418)
    assert p.import_price[8] == pytest.approx(1.2836)  # 14:00
    assert p.import_price[20] == pytest.approx(1.0697)  # 17:00
    assert p.import_price[48] == pytest.approx(0.2589)  # 00:00 next day
    assert np.all(p.ef_kg_per_kwh == 0.5978)  # the park file's cn-jiangsu-2022 (MEE/NBS 2022, Jiangsu)
    assert p.demand_charge_cny_per_kw_month == 40.0 and p.export_limit_kw == 0
    # monthly contract 3000 MWh ±10 % in a 31-day July: one day's share is 3e6/31 kWh
    (c,) = p.contracts
    (blk,) = c.blocks
    assert (blk.t0, blk.t1) == (0, 96)
    assert blk.e_min_kwh == pytest.approx(3e6 / 31 * 0.9)
    assert blk.e_max_kwh == pytest.approx(3e6 / 31 * 1.1)
    assert c.price_cny_per_kwh == pytest.approx(0.421)
    # EV: 8000 kWh/day over a whole-day window = 333.3 kW baseline; the horizon holds half of
    # today (4000 kWh) and half of tomorrow (4000 kWh)
    (f,) = p.flex
    assert f.baseline_kw == pytest.approx(np.full(96, 8000 / 24))
    assert [(b.t0, b.t1, round(b.e_min_kwh, 6)) for b in f.blocks] == [(0, 48, 4000.0), (48, 96, 4000.0)]


def test_rolling_replan_gets_what_is_left_of_todays_flexible_energy(demo_park: Park) -> None:
    fc = _flat_forecast(demo_park, NOON_LOCAL, 96)
    p = problem_from_park(demo_park, fc, flex_delivered_kwh={"LOAD_EV": 5000.0})
    (f,) = p.flex
    assert f.blocks[0].e_min_kwh == pytest.approx(8000 - 5000)  # not the prorated 4000
    assert f.blocks[1].e_min_kwh == pytest.approx(4000)
    done = problem_from_park(demo_park, fc, flex_delivered_kwh={"LOAD_EV": 9000.0})
    assert done.flex[0].blocks[0].e_min_kwh == 0.0  # over-delivered: nothing left, never negative


def test_solver_options_from_the_park_file_and_overrides(tiny_park: Park) -> None:
    """Issue 23: objective, weight, time limit and MIP gap come from the park file's ``dispatch`` block;
    a non-None override (an ``ems plan`` flag) wins, None keeps the park's value."""
    park = tiny_park.model_copy(
        update={
            "dispatch": DispatchSettings(
                objective="weighted", re_weight_cny_per_kwh=3.0, time_limit_s=42.0, mip_rel_gap=1e-3
            )
        }
    )
    o = solver_options(park)
    assert (o.objective, o.re_weight_cny_per_kwh, o.time_limit_s, o.mip_rel_gap) == ("weighted", 3.0, 42.0, 1e-3)
    o2 = solver_options(park, objective="lexicographic", time_limit_s=None, mip_rel_gap=0.01)
    assert (o2.objective, o2.time_limit_s, o2.mip_rel_gap) == ("lexicographic", 42.0, 0.01)


def test_a_tariff_boundary_inside_an_interval_is_priced_by_its_minutes() -> None:
    """Hourly park, valley 00:00-07:30 at 0.30, peak 07:30-11:30 at 1.00, flat otherwise at 0.60 (tiny park's
    prices): 07:00-08:00 costs (30 × 0.30 + 30 × 1.00) / 60 = 0.65 CNY/kWh and 11:00-12:00 (30 × 1.00 +
    30 × 0.60) / 60 = 0.80, not the price at the hour's start (0.30, 1.00)."""
    from decimal import Decimal

    import yaml

    from dispatch.from_park import tou_prices
    from ems.park import example_park_path, load_park, parse_park

    data = yaml.safe_load(example_park_path("tiny").read_text(encoding="utf-8"))
    data["interval_minutes"] = 60
    data["tariff"]["periods"] = [
        {"name": "valley", "price_cny_per_kwh": "0.30", "hours": ["00:00-07:30"]},
        {"name": "peak", "price_cny_per_kwh": "1.00", "hours": ["07:30-11:30", "17:00-22:00"]},
        {"name": "flat", "price_cny_per_kwh": "0.60", "hours": ["11:30-17:00", "22:00-24:00"]},
    ]
    park = parse_park(data, "hourly")
    day = np.datetime64("2026-06-01T16:00", "us")  # 2 June 00:00 park time
    prices = tou_prices(park, day + np.arange(24) * np.timedelta64(1, "h"))
    assert prices[6] == 0.30 and prices[7] == pytest.approx(0.65) and prices[8] == 1.00
    assert prices[11] == pytest.approx(0.80) and prices[12] == 0.60
    local = dt.datetime(2026, 6, 2, 7, 0, tzinfo=park.tz)
    assert park.tariff.mean_price(local, 60) == Decimal("0.65")  # exact, for the money figures
    assert load_park(example_park_path("tiny")).tariff.mean_price(local, 15) == Decimal("0.30")
