"""Planning from metered history: the sizing series read back from a real store.

The oracle is the telemetry sent: one reading per device per minute, so each hour's energy is the
mean of its sixty powers (sample-and-hold), computed here with numpy from the inputs, not by the store.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ems.park import Park, PvPlant, example_park_path
from ems.store import Store
from ems.synthetic import synthesize
from ems.telemetry import ReadingBatch
from services.pathway.data import sizing_data
from services.pathway.history import metered_year
from services.pathway.options import load_options
from services.pathway.pathway import plan_pathway

START = dt.datetime(2026, 3, 1, 16, 0, tzinfo=dt.UTC)  # 2026-03-02 00:00 Beijing time
HOURS = 48
DIRECT_KW = 3000.0
GAP_DEVICE, GAP_HOUR = "LOAD_CHEM", 30
OPTIONS = example_park_path("demo").parent / "demo_pathway.yaml"


def _hourly(p: np.ndarray) -> np.ndarray:
    return p.reshape(HOURS, 60).mean(axis=1)


@pytest.fixture
def metered(demo_store: Store, demo_park: Park):  # type: ignore[no-untyped-def]
    day = synthesize(demo_park, START, hours=HOURS, step_s=60.0, seed=5)
    b = day.batch
    t = day.time_us
    # the direct line's meter (the synthetic park has no reading for it): a flat 3 MW
    keep = ~((b.device == GAP_DEVICE) & (b.time_us >= t[GAP_HOUR * 60]) & (b.time_us < t[(GAP_HOUR + 1) * 60]))
    batch = ReadingBatch(
        np.concatenate([b.time_us[keep], t]),
        np.concatenate([b.device[keep], np.full(len(t), "M_DIRECT", dtype=object)]),
        np.concatenate([b.quantity[keep], np.full(len(t), "p_kw", dtype=object)]),
        np.concatenate([b.value[keep], np.full(len(t), DIRECT_KW)]),
        np.zeros(int(keep.sum()) + len(t), dtype=np.int16),
    )
    res = demo_store.ingest(batch, now=START + dt.timedelta(hours=HOURS + 1))
    assert not res.rejected
    return day, metered_year(demo_store, demo_park, START, HOURS)


def test_series_equal_the_telemetry_sent(metered, demo_park: Park) -> None:  # type: ignore[no-untyped-def]
    day, m = metered
    p = day.p_kw
    loads = [d.id for d in demo_park.devices if d.type == "load"]
    expected_load = sum(_hourly(-p[d]) for d in loads)
    # the hour without LOAD_CHEM readings is filled as ems.carbon fills it: the last reading before the
    # gap holds for one more minute (sample-and-hold, <= 120 s), so the hour is covered 1/60 and its
    # energy scaled by the coverage: that reading's power for the whole hour
    chem = _hourly(-p[GAP_DEVICE])
    expected_load[GAP_HOUR] += -p[GAP_DEVICE][GAP_HOUR * 60 - 1] - chem[GAP_HOUR]
    np.testing.assert_allclose(m.load_kw, expected_load, rtol=1e-9)
    assert m.filled_hours == 1
    gens = [d.id for d in demo_park.devices if d.type in ("pv", "wind")]
    np.testing.assert_allclose(m.re_existing_kw, sum(_hourly(p[d]) for d in gens), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(m.direct_existing_kw, DIRECT_KW, rtol=1e-12)
    pv = [d for d in demo_park.devices if isinstance(d, PvPlant)]
    kwp = sum(d.dc_kwp for d in pv)
    np.testing.assert_allclose(m.pv_kw_per_kwp, sum(_hourly(p[d.id]) for d in pv) / kwp, rtol=1e-9, atol=1e-12)
    assert m.starts[0] == np.datetime64("2026-03-01T16:00")


def test_sizing_data_and_plan_use_the_metered_hours(metered, demo_park: Park) -> None:  # type: ignore[no-untyped-def]
    _, m = metered
    opts = load_options(OPTIONS)
    d = sizing_data(demo_park, opts, metered=m)
    assert d.T == HOURS and d.year == 2026
    np.testing.assert_array_equal(d.load_kw, m.load_kw)
    assert opts.technologies.pv is not None
    np.testing.assert_allclose(d.cf_pv, np.minimum(m.pv_kw_per_kwp * opts.technologies.pv.dc_ac_ratio, 1.0))
    assert d.horizon_share == pytest.approx(HOURS / 8760)
    assert opts.pathway is not None
    one_year = opts.model_copy(update={"pathway": opts.pathway.model_copy(update={"target_year": 2026})})
    plan = plan_pathway(demo_park, one_year, metered=m)
    assert plan.years[0].indicators is not None  # ems.carbon re-accounted the metered-hours plan


def test_too_little_history_is_refused(demo_store: Store, demo_park: Park) -> None:
    with pytest.raises(ValueError, match=r"covers 0\.0% of the device-hours"):
        metered_year(demo_store, demo_park, START, HOURS)


def test_cli_plans_from_the_database(metered, demo_store: Store, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from entrypoints.cli.main import app

    monkeypatch.setenv("EMS_DATABASE_URL", demo_store.url)
    import yaml

    data = yaml.safe_load(OPTIONS.read_text(encoding="utf-8"))
    data["pathway"]["target_year"] = data["pathway"]["start_year"]
    opts = tmp_path / "opts.yaml"
    opts.write_text(yaml.safe_dump(data), encoding="utf-8")
    args = ["pathway", "plan", "--options", str(opts), "--history-start", "2026-03-02", "--hours", str(HOURS)]
    res = CliRunner().invoke(app, [*args, "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "pathway.json").read_text(encoding="utf-8"))
    _, m = metered
    assert float(report["years"][0]["supply_mwh"]["consumption"]) == pytest.approx(m.load_kw.sum() / 1000, abs=0.001)
    res = CliRunner().invoke(
        app, [*args[:-4], "--history-start", "2025-01-01", "--hours", "48", "--out", str(tmp_path)]
    )
    assert res.exit_code == 1 and "covers 0.0%" in res.output
