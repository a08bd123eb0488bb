"""Year-by-year pathway on the demo park (48 hours of each year, so the test stays fast) and the CLI."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import yaml
from typer.testing import CliRunner

from ems.park import example_park_path, load_park
from entrypoints.cli.main import app
from services.pathway.options import PlanOptions, load_options
from services.pathway.pathway import plan_pathway

DEMO_OPTIONS = example_park_path("demo").parent / "demo_pathway.yaml"


def _options(**pathway: object) -> PlanOptions:
    opts = load_options(DEMO_OPTIONS)
    assert opts.pathway is not None
    return opts.model_copy(update={"pathway": opts.pathway.model_copy(update=pathway)})


def test_pathway_adds_capacity_only_and_reaches_the_targets() -> None:
    park = load_park(example_park_path("demo"))
    opts = _options(start_year=2026, target_year=2028, residual_factor_change_per_year=Decimal("-0.02"))
    plan = plan_pathway(park, opts, hours=48)
    assert [y.year for y in plan.years] == [2026, 2027, 2028]
    for prev, cur in zip(plan.years, plan.years[1:], strict=False):
        for k, v in prev.result.capacity.items():
            assert cur.result.capacity[k] >= v - 1e-6  # never removed
    # budget declines linearly from the park file's 120,000 t to the options' 60,000 t
    assert [y.data.carbon.budget_tco2 for y in plan.years] == [Decimal("120000"), Decimal("90000"), Decimal("60000")]
    # factor forecast: 0.6096 × 0.98^i, rounded to 0.0001
    assert [y.data.carbon.residual_kg_per_kwh for y in plan.years] == [
        Decimal("0.6096"),
        Decimal("0.5974"),
        Decimal("0.5855"),
    ]
    last = plan.years[-1].indicators
    assert last is not None and last.intensity_ok and last.clean_share_ok
    # targets ramp from the no-build baseline to the final targets
    assert plan.baseline is not None and plan.baseline.intensity_t_per_tce is not None
    mid = plan.years[1].data.carbon.intensity_target
    assert mid is not None and Decimal("0.20") < mid < plan.baseline.intensity_t_per_tce
    for y in plan.years:
        assert y.indicators is not None and y.data.carbon.intensity_target is not None
        assert y.indicators.intensity_t_per_tce <= y.data.carbon.intensity_target  # type: ignore[operator]


def test_cli_writes_json_and_charts(tmp_path: Path) -> None:
    opts = _options(start_year=2026, target_year=2027)
    opt_file = tmp_path / "options.yaml"
    opt_file.write_text(yaml.safe_dump(opts.model_dump(mode="json")), encoding="utf-8")
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["pathway", "plan", "--options", str(opt_file), "--hours", "48", "--out", str(out)])
    assert res.exit_code == 0, res.output
    report = json.loads((out / "pathway.json").read_text(encoding="utf-8"))
    assert [y["year"] for y in report["years"]] == [2026, 2027]
    y = report["years"][-1]
    costs = {k: Decimal(v) for k, v in y["costs_cny"].items()}
    assert costs["total"] == sum(v for k, v in costs.items() if k != "total")  # exact decimals, no floats
    assert y["indicators"]["intensity_ok"] is True
    assert (out / "pathway.pdf").read_bytes().startswith(b"%PDF")
    assert (out / "pathway.png").read_bytes().startswith(b"\x89PNG")
    assert "2027: build" in res.output


def test_cli_bad_options_file_names_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("market: {certificate_price_cny_per_mwh: -1, contract_price_cny_per_mwh: 1}\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["pathway", "plan", "--options", str(bad), "--hours", "24"])
    assert res.exit_code == 2
    assert "market.certificate_price_cny_per_mwh" in res.output


def test_cli_unreachable_target_exits_with_the_reason(tmp_path: Path) -> None:
    opts = load_options(DEMO_OPTIONS)
    none = opts.model_copy(
        update={
            "technologies": type(opts.technologies)(),
            "market": opts.market.model_copy(update={"certificate_max_mwh": 0.0, "contract_max_mwh_per_month": 0.0}),
            "pathway": opts.pathway.model_copy(update={"start_year": 2026, "target_year": 2026}),  # type: ignore[union-attr]
        }
    )
    f = tmp_path / "o.yaml"
    f.write_text(yaml.safe_dump(none.model_dump(mode="json")), encoding="utf-8")
    res = CliRunner().invoke(app, ["pathway", "plan", "--options", str(f), "--hours", "24", "--out", str(tmp_path)])
    assert res.exit_code == 1
    assert "no portfolio meets" in res.output and "year 2026" in res.output
