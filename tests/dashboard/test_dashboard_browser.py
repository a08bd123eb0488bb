"""The operator dashboard in headless Chromium (Debian's package) against a seeded database.

Skips with a message where /usr/bin/chromium is missing; `.ci/run` installs it so CI always runs it.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from ems.park import Park
from ems.store import Store
from ems.synthetic import synthesize

from ..api.conftest import make_api

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason="needs Debian's chromium (apt-get install chromium); .ci/run installs it",
)


def test_dashboard_renders_seeded_data(demo_store: Store, demo_park: Park, artifacts_dir: Path) -> None:
    from playwright.sync_api import sync_playwright

    from services.planning import plan_from_store

    day = dt.datetime(2026, 6, 21, tzinfo=demo_park.tz)
    for k, d in enumerate((day - dt.timedelta(days=1), day)):
        syn = synthesize(demo_park, d.astimezone(dt.UTC), hours=24, step_s=60, seed=k + 1)
        assert demo_store.ingest(syn.batch, now=day + dt.timedelta(days=3)).rejected == []
    plan_from_store(demo_store, demo_park, day.astimezone(dt.UTC), 96, ac_check=False)
    api = make_api(demo_store, demo_park)
    errors: list[str] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM,
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                ],
            )
            page = browser.new_page(viewport={"width": 1400, "height": 1900})
            page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{api.url}/dashboard/#key={api.tokens['operator']}")
            page.wait_for_selector("body[data-loaded=true]", timeout=30_000)
            assert page.inner_text("#park-name") == demo_park.name
            # every chart drew a canvas with data
            for chart in ("supply", "soc", "curtail", "ef", "forecast"):
                assert page.locator(f"#chart-{chart}").get_attribute("data-state") == "drawn", chart
                assert page.locator(f"#chart-{chart} canvas").count() == 1, chart
            assert page.locator("#devices tbody tr").count() == len(demo_park.devices)
            assert page.locator("#kpis .kpi").count() == 6
            assert "tCO₂/tce" in page.inner_text("#indicators")
            page.screenshot(path=str(artifacts_dir / "dashboard.png"), full_page=True)
            # without a key the page asks for one instead of failing
            page2 = browser.new_page()
            page2.goto(f"{api.url}/dashboard/")
            page2.wait_for_selector("#key-form:not([hidden])", timeout=10_000)
            browser.close()
    finally:
        api.server.stop()
    assert errors == [], errors
