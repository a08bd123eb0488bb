"""Hosting check on the anti-backflow demo park; flagged intervals re-checked with plain pandapower."""

from __future__ import annotations

import copy
import datetime as dt

import numpy as np
import pandapower as pp
import pytest

from ems.park import Park
from grid_models import NetworkModelError, ParkNetwork, ParkProfiles, hosting_check, park_profiles
from grid_models.network import INJECTION_SIGN, LOAD_Q_RATIO


@pytest.fixture(scope="module")
def summer_week(demo_park: Park) -> ParkProfiles:
    return park_profiles(demo_park, dt.datetime(2026, 7, 6, tzinfo=demo_park.tz), 7 * 96, seed=5)


def _pandapower_at(
    pn: ParkNetwork, prof: ParkProfiles, t: int, extra_bus: str, extra_sgen_mw: float
) -> pp.pandapowerNet:
    """Independent re-run: plain pandapower on a copy of the net with the extra PV as one more sgen."""
    net = copy.deepcopy(pn.net)
    for j, d in enumerate(prof.device_ids):
        table, idx = pn.element(d)
        p = prof.p_kw[t, j] / 1000 * INJECTION_SIGN[table]
        net[table].at[idx, "p_mw"] = p
        net[table].at[idx, "q_mvar"] = p * (LOAD_Q_RATIO if table == "load" else 0.0)
    pp.create_sgen(net, pn.bus_index(extra_bus), p_mw=extra_sgen_mw)
    pp.runpp(net, numba=False)
    return net


def test_oversize_pv_breaks_anti_backflow_and_cable(demo_pn: ParkNetwork, summer_week: ParkProfiles) -> None:
    rep = hosting_check(demo_pn, summer_week, "F4_TEX", extra_pv_kw=40_000)
    assert not rep.ok and rep.steps == 7 * 96
    found = {(s.scenario, s.kind, s.element): s for s in rep.with_extra}
    export = found[("profile", "export_limit", "grid_connection")]
    base_export = sum(s.intervals for s in rep.base if s.kind == "export_limit")
    assert export.intervals > base_export  # midday export on every sunny day
    cable = found[("profile", "line_loading", "L4")]
    assert cable.worst_value > 100
    # re-check the worst interval with pandapower alone
    t = cable.worst_interval
    net = _pandapower_at(demo_pn, summer_week, t, "F4_TEX", 40.0 * summer_week.pv_per_kw[t])
    assert net.res_line.loading_percent[demo_pn.line_ids.index("L4")] == pytest.approx(cable.worst_value, abs=1e-6)
    t = export.worst_interval
    net = _pandapower_at(demo_pn, summer_week, t, "F4_TEX", 40.0 * summer_week.pv_per_kw[t])
    assert -net.res_ext_grid.p_mw.sum() * 1000 == pytest.approx(export.worst_value, abs=1e-3)
    assert rep.max_export_kw == pytest.approx(export.worst_value)


def test_extra_battery_is_checked_charging_and_discharging(demo_pn: ParkNetwork, summer_week: ParkProfiles) -> None:
    # 15 MW behind the single 0.6 kA cable L5 (≈ 10.5 MVA): overloads it in both directions
    rep = hosting_check(demo_pn, summer_week, "F5_EV", extra_battery_kw=15_000)
    l5 = {s.scenario: s for s in rep.with_extra if (s.kind, s.element) == ("line_loading", "L5")}
    assert set(l5) == {"battery_charging", "battery_discharging"}
    assert l5["battery_charging"].intervals == l5["battery_discharging"].intervals == rep.steps
    assert l5["battery_charging"].worst_value > l5["battery_discharging"].worst_value  # load adds when charging


def test_small_addition_in_winter_is_ok(demo_pn: ParkNetwork, demo_park: Park) -> None:
    winter = park_profiles(demo_park, dt.datetime(2026, 1, 12, tzinfo=demo_park.tz), 3 * 96, seed=2)
    rep = hosting_check(demo_pn, winter, "F1_CELLS", extra_pv_kw=500)
    assert rep.ok and rep.new_violations == 0
    assert rep.max_line_loading_percent < 100 and 0.93 < rep.v_min_pu <= rep.v_max_pu < 1.07


def test_hosting_input_errors(demo_pn: ParkNetwork, summer_week: ParkProfiles) -> None:
    with pytest.raises(NetworkModelError, match="unknown bus 'X'"):
        hosting_check(demo_pn, summer_week, "X", extra_pv_kw=1)
    with pytest.raises(NetworkModelError, match=">= 0"):
        hosting_check(demo_pn, summer_week, "F4_TEX", extra_pv_kw=-1)
    assert np.all(summer_week.pv_per_kw >= 0)
