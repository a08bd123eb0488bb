"""A planned year checked by operation: the portfolio built into the park and run by the MPC.

The oracles are the plan's own inputs and conservation of energy, not the code under test: the
simulated plant must see exactly the weather, loads and capacities the plan was sized on (hourly
means of the 15-minute plant equal the plan's hourly series), the simulated meters must balance, and
``ems.carbon``'s CO2 for the operated week must lie within the bounds a hand calculation gives from
the simulated grid import and the plan's certificates.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from typer.testing import CliRunner

from ems.park import example_park_path, load_park
from services.pathway.operation import check_by_operation, operation_accounts, operation_dict
from services.pathway.options import load_options
from services.pathway.pathway import plan_pathway

DEMO_OPTIONS = example_park_path("demo").parent / "demo_pathway.yaml"
DAYS = 4


@pytest.fixture(scope="module")
def checked():  # type: ignore[no-untyped-def]
    park = load_park(example_park_path("demo"))
    opts = load_options(DEMO_OPTIONS)
    assert opts.pathway is not None
    opts = opts.model_copy(update={"pathway": opts.pathway.model_copy(update={"target_year": opts.pathway.start_year})})
    plan = plan_pathway(park, opts, hours=24 * DAYS).years[0]
    return park, opts, plan, check_by_operation(park, plan, opts, replan_minutes=24 * 60)


def test_the_park_copy_holds_the_planned_capacity(checked) -> None:  # type: ignore[no-untyped-def]
    park, _, plan, chk = checked
    cap = plan.result.capacity
    assert sum(v for k, v in cap.items() if k.startswith("pv:")) > 1000  # the demo plan builds PV ...
    added = {d.id: d for d in chk.park.devices if d.id.startswith("PLAN_")}
    for name, kw in cap.items():
        if name.startswith("pv:"):
            assert added[f"PLAN_PV_{name[3:]}"].p_rated_kw == pytest.approx(kw)  # type: ignore[union-attr]
    if cap.get("battery_kwh", 0) > 1:
        assert added["PLAN_BESS"].e_rated_kwh == pytest.approx(cap["battery_kwh"])  # type: ignore[union-attr]
    # the existing devices are untouched and come first
    assert [d.id for d in chk.park.devices[: len(park.devices)]] == [d.id for d in park.devices]


def test_the_simulation_runs_on_the_weather_and_loads_the_plan_was_sized_on(checked) -> None:  # type: ignore[no-untyped-def]
    _, _, plan, chk = checked
    s = chk.simulation.optimised
    per_hour = 4
    avail = sum(s.gen_avail_kw.values(), np.zeros(len(s.times))).reshape(-1, per_hour).mean(axis=1)
    np.testing.assert_allclose(avail, plan.result.flows.available_kw, rtol=1e-9, atol=1e-6)
    demand = (s.demand_kw + sum(s.flex_kw.values(), np.zeros(len(s.times)))).sum() * s.dt_h
    assert demand == pytest.approx(plan.data.energy_kwh, rel=1e-9)


def test_simulated_meters_balance_and_co2_within_hand_bounds(checked) -> None:  # type: ignore[no-untyped-def]
    _, _, plan, chk = checked
    acc = operation_accounts(chk.park, plan, chk.simulation)
    f = acc.flows
    supply = f.grid_import_kwh + f.local_re_kwh + f.direct_green_kwh + f.discharge_kwh
    use = f.export_kwh + f.charge_kwh
    assert float((supply - use).sum()) == pytest.approx(plan.data.energy_kwh, rel=1e-6)
    # residual R = metered import − the contract deliveries it can take (each interval's delivery
    # is claimable up to that interval's import) − the certificates; ems.carbon attributes at most
    # R·EF (storage only keeps or loses grid-mix CO2) and at least R·EF less what the batteries can
    # hold at the end of the week; plus the other fuels' CO2 for the week
    ef = float(plan.data.carbon.residual_kg_per_kwh)
    fuel_t = float(plan.data.carbon.fuel_tco2) * plan.data.horizon_share
    delivered = np.repeat(plan.result.flows.contract_kw, 4) * 0.25
    claimed = float(np.minimum(delivered, f.grid_import_kwh).sum())
    r_kwh = float(f.grid_import_kwh.sum()) - claimed - plan.result.certificates_kwh
    held = sum(b.e_rated_kwh for b in chk.park.devices_of("battery"))
    co2 = float(chk.indicators.co2_t)
    assert (r_kwh - held) * ef / 1000 - 0.01 <= co2 - fuel_t <= r_kwh * ef / 1000 + 0.01
    # the grid mix: the grid meter less every contract delivery the simulated park took (the park file's
    # contract as well as any the plan buys), not less the plan's contracts alone
    s = chk.simulation.optimised
    taken_kwh = float(sum(c.sum() for c in s.contract_kw.values()) * s.dt_h)
    assert taken_kwh > 0
    assert chk.grid_mix_mwh * 1000 == pytest.approx(float(f.grid_import_kwh.sum()) - taken_kwh, rel=1e-9)
    assert chk.indicators.energy_tce == pytest.approx(plan.indicators.energy_tce, abs=Decimal("0.00001"))  # type: ignore[union-attr]


def test_gap_is_operation_minus_plan(checked) -> None:  # type: ignore[no-untyped-def]
    _, _, plan, chk = checked
    d = operation_dict(chk, plan)
    gap = d["gap_operation_minus_plan"]
    assert isinstance(gap, dict)
    assert (
        Decimal(gap["intensity_t_per_tce"]) == chk.indicators.intensity_t_per_tce - plan.indicators.intensity_t_per_tce
    )  # type: ignore[operator,union-attr]
    assert d["days_simulated"] == DAYS


def test_cli_reports_the_operation_check(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from entrypoints.cli.main import app

    opts = tmp_path / "opts.yaml"
    text = DEMO_OPTIONS.read_text(encoding="utf-8")
    import yaml

    data = yaml.safe_load(text)
    data["pathway"]["target_year"] = data["pathway"]["start_year"]
    opts.write_text(yaml.safe_dump(data), encoding="utf-8")
    res = CliRunner().invoke(
        app, ["pathway", "plan", "--options", str(opts), "--hours", "48", "--check-operation", "--out", str(tmp_path)]
    )
    assert res.exit_code == 0, res.output
    assert "operated by the MPC" in res.output
    report = json.loads((tmp_path / "pathway.json").read_text(encoding="utf-8"))
    assert report["years"][0]["operation"]["days_simulated"] == 2
