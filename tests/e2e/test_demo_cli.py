"""``ems demo`` as a user runs it (shortened): keys and dashboard URL printed, the summary at the end."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from entrypoints.cli.main import app


def test_demo_command_prints_access_and_summary(fresh_db_url: str, tmp_path: Path) -> None:
    env = {"EMS_DATABASE_URL": fresh_db_url, "EMS_DATA_DIR": str(tmp_path)}
    r = CliRunner().invoke(
        app,
        ["demo", "--hours", "1", "--start-hour", "8", "--speed", "720", "--history-days", "1", "--port", "0"],
        env=env,
    )
    assert r.exit_code == 0, r.output
    out = r.output
    m = re.search(r"dashboard  (http://127\.0\.0\.1:\d+)/dashboard/#key=(ems_\w+_\S+)", out)
    assert m is not None, out
    tokens = dict(
        re.findall(
            r"^  (operator|auditor|admin|gateway:gw-logistics|gateway:gw-direct)\s+(ems_\S+)$", out, re.MULTILINE
        )
    )
    assert set(tokens) == {"operator", "auditor", "admin", "gateway:gw-logistics", "gateway:gw-direct"}
    assert m.group(2) == tokens["operator"]
    assert "4 plans (0 fallback" in out
    for label in (
        "local renewable consumption",
        "curtailment [MWh]",
        "green share",
        "cost of the period [CNY]",
        "park EF, location [gCO2/kWh]",
    ):
        assert label in out
    # issue 21: the printed cost lines (both columns) add up to the printed total
    money = r"\s+(-?[\d,]+\.\d\d)\s+(-?[\d,]+\.\d\d)$"
    parts = [
        re.search(r"^  " + re.escape(name) + r".*?" + money, out, re.MULTILINE)
        for name in ("energy [CNY]", "demand charge", "green premium [CNY]", "carbon cost [CNY]")
    ]
    total = re.search(r"^cost of the period \[CNY\]" + money, out, re.MULTILINE)
    assert total is not None and all(parts), out
    for col in (1, 2):
        lines = sum(Decimal(m.group(col).replace(",", "")) for m in parts if m)
        assert lines == Decimal(total.group(col).replace(",", ""))
    assert re.search(r"park emission factor \d+\.\d gCO2/kWh location-based, \d+\.\d gCO2/kWh market-based", out)
    assert "verified OK" in out
    assert "gateway" in out and "/ 0 rejected" in out
