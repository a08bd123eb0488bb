"""Sweeps on a real Dask LocalCluster (2 worker processes): results gathered in scenario order, a failing
task reported with its scenario while the others complete; Pareto front by hand."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from ems.park import example_park_path, load_park
from services.pathway.options import load_options
from services.pathway.report import plot_sweep
from services.pathway.sweep import SweepSettings, grid, pareto_front, run_serial, run_sweep

DEMO_OPTIONS = example_park_path("demo").parent / "demo_pathway.yaml"


def test_pareto_front_by_hand() -> None:
    # (cost, intensity): (3, 0.5) is dominated by (2, 0.4); the rest trade off
    pts = np.array([[1.0, 0.9], [2.0, 0.4], [3.0, 0.5], [4.0, 0.2]])
    assert pareto_front(pts).tolist() == [True, True, False, True]


def test_grid_is_the_cartesian_product() -> None:
    s = grid(certificate_price_cny_per_mwh=[Decimal(5), Decimal(10)], factor_year=[2022, 2023], intensity_target=[])
    assert len(s) == 4 and {x.factor_year for x in s} == {2022, 2023}
    assert s[0].intensity_target is None


@pytest.mark.slow
def test_sweep_on_local_cluster_reports_the_failing_task(tmp_path: Path) -> None:
    park = load_park(example_park_path("demo"))
    opts = load_options(DEMO_OPTIONS)
    scenarios = grid(intensity_target=[Decimal("0.2"), Decimal("0.5")], factor_year=[2019, 2023])
    cfg = SweepSettings(hours=24)
    seen: list[int] = []
    res = run_sweep(park, opts, scenarios, cfg, workers=2, progress=seen.append)
    assert res.workers == 2 and len(seen) == 4
    assert [r["scenario"] for r in res.rows] == [s.label() for s in scenarios]
    failed = res.failed
    assert [r["factor_year"] for r in failed] == [2019, 2019]  # no such published factor
    assert all("cn-national-excl-market-2019" in r["error"] for r in failed)
    ok = [r for r in res.rows if r["status"] == "ok"]
    assert len(ok) == 2
    # a looser target never costs more; each row's indicator is ems.carbon's and meets its target
    strict, loose = sorted(ok, key=lambda r: float(r["intensity_target"]))
    assert Decimal(strict["cost_cny"]) >= Decimal(loose["cost_cny"])
    for r in ok:
        assert r["intensity_t_per_tce"] <= float(r["intensity_target"]) + 1e-6
        assert 0.0 <= r["cfe_score"] <= 1.0
    # the distributed run gives the serial run's numbers
    serial = run_serial(park, opts, [scenarios[1]], cfg)
    assert serial.rows[0]["cost_cny"] == res.rows[1]["cost_cny"]
    files = plot_sweep(res.rows, tmp_path / "sweep")
    assert files[0].read_bytes().startswith(b"%PDF")
