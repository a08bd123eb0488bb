"""The operator console in headless Chromium (Debian's package) against a seeded database.

The tiny example park (one device of each kind, so the test stays fast) with two metered park days
(20 and 21 June 2026, Asia/Shanghai) and a day-ahead plan
(with its rule-based baseline) for the 21st, as `./run demo` leaves a day that ran. What the charts
hold is read from the page's uPlot instances and compared with bucket means computed here with SQL
on the raw telemetry rows (not through the API or the store's rollup query). Screenshots go to
artifacts/ (dashboard.png, dashboard-phone.png).

Skips with a message where /usr/bin/chromium is missing; `.ci/run` installs it so CI always runs it.
"""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest

from ems.park import Park
from ems.store import Store
from ems.store import alert_queries as AQ
from ems.synthetic import synthesize
from ems.telemetry import ReadingBatch

from ..api.conftest import Api, make_api

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason="needs Debian's chromium (apt-get install chromium); .ci/run installs it",
)
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking"]
UTC = dt.UTC
DAY_START = dt.datetime(2026, 6, 20, 16, tzinfo=UTC)  # 21 June 00:00 in Shanghai (UTC+8), by hand
COMPARED = ("chart-grid", "chart-re", "chart-battery", "chart-soc", "chart-load")
# every chart on the page, and the uPlot series that must hold data in each
SERIES_WITH_DATA = {
    "chart-grid": (1, 2, 3),  # measured, plan, rule-based baseline
    "chart-re": (1, 2, 3),
    "chart-battery": (1, 2, 3),
    "chart-soc": (1, 2, 3),
    "chart-load": (1, 2, 3),
    "chart-supply": (1,),
    "chart-plan-soc": (1,),
    "chart-curtail": (1,),
    "chart-ef": (1, 2),
    "chart-forecast": (2,),  # measured load (the seeded store has no stored forecast run)
    "chart-intensity": (1,),  # measured park carbon intensity (the viewed day: nothing measured in the last 24 h)
}
CHART_DATA = "(id) => window.EMS_CHARTS[id] ? window.EMS_CHARTS[id].data : null"


@pytest.fixture(scope="module")
def seeded(tiny_park: Park, pg_url: str) -> Iterator[tuple[Api, str]]:
    from services.planning import plan_from_store

    name = f"ems_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = psycopg.conninfo.make_conninfo(pg_url, dbname=name)
    store = Store.connect(url, tiny_park)
    syn = synthesize(
        tiny_park, DAY_START - dt.timedelta(days=1), hours=48, step_s=120, seed=1
    )  # 120 s: samples cover the intervals (rollup_max_gap_s)
    assert store.ingest(syn.batch, now=DAY_START + dt.timedelta(days=3)).rejected == []
    plan_from_store(store, tiny_park, DAY_START, 96, ac_check=False)
    with store.connection() as conn:
        AQ.raise_alert(conn, "device_stale", "PV1", "warning", "device PV1: last seen long ago", {}, DAY_START)
    api = make_api(store, tiny_park, stream_poll_s=0.3, stream_max_age_s=60.0)
    yield api, url
    api.server.stop()
    store.close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def browser(seeded: tuple[Api, str]) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()  # before the server stops: open event streams end with the browser


def _open(browser: Any, api: Api, errors: list[str], **page_kw: Any) -> Any:
    page = browser.new_page(**page_kw)
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{api.url}/dashboard/?lang=en#key={api.tokens['operator']}")
    page.wait_for_selector("body[data-loaded=true]", timeout=30_000)
    return page


def _sql_means(url: str, devices: list[str], quantity: str, start: dt.datetime) -> dict[dt.datetime, float]:
    """Per 15-minute bucket: the mean of each device's raw readings, summed over the devices."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            """
            SELECT date_bin('15 minutes', t.time, %s) AS b, d.device_id, avg(t.value)
            FROM telemetry t JOIN device d USING (device_key) JOIN quantity q USING (quantity_id)
            WHERE d.device_id = ANY(%s) AND q.name = %s AND t.time >= %s AND t.time < %s
            GROUP BY 1, 2
            """,
            (start, devices, quantity, start, start + dt.timedelta(days=1)),
        ).fetchall()
    out: dict[dt.datetime, float] = {}
    for b, _dev, v in rows:
        out[b] = out.get(b, 0.0) + float(v)
    return out


def _check_measured(page: Any, park: Park, url: str, start: dt.datetime) -> None:
    ids = lambda kind: [d.id for d in park.devices_of(kind)]  # noqa: E731
    assert park.grid_meter is not None
    expected = {
        "chart-grid": (_sql_means(url, [park.grid_meter.id], "p_kw", start), 1.0),
        "chart-re": (_sql_means(url, ids("pv") + ids("wind"), "p_kw", start), 1.0),
        "chart-battery": (_sql_means(url, ids("battery"), "p_kw", start), 1.0),
        "chart-load": (_sql_means(url, ids("load"), "p_kw", start), -1.0),  # loads draw: stored < 0
    }
    for chart, (means, sign) in expected.items():
        data = page.evaluate(CHART_DATA, chart)
        xs = [dt.datetime.fromtimestamp(x, UTC) for x in data[0]]
        assert xs[0] == start and len(xs) == 96, chart
        shown = np.array([np.nan if v is None else v for v in data[1]], dtype=float)
        want = np.array([sign * means.get(x, np.nan) for x in xs])
        assert np.isfinite(want).all(), chart
        np.testing.assert_allclose(shown, want, atol=1e-3, err_msg=chart)


def test_operated_day_every_chart_from_the_store(
    seeded: tuple[Api, str], browser: Any, tiny_park: Park, artifacts_dir: Path
) -> None:
    api, url = seeded
    errors: list[str] = []
    page = _open(browser, api, errors, viewport={"width": 1400, "height": 1900})
    assert page.inner_text("#park-name") == tiny_park.name
    # the day that ran (newest readings), not the next day's empty plan
    assert page.input_value("#date") == "2026-06-21"
    for chart, series in SERIES_WITH_DATA.items():
        data = page.evaluate(CHART_DATA, chart)
        assert data is not None, chart
        for i in series:
            assert sum(v is not None for v in data[i]) > 0, (chart, i)
    _check_measured(page, tiny_park, url, DAY_START)
    # SOC: the energy-weighted mean of the batteries' soc_pct
    soc = page.evaluate(CHART_DATA, "chart-soc")[1]
    bats = tiny_park.devices_of("battery")
    per = [_sql_means(url, [b.id], "soc_pct", DAY_START) for b in bats]
    k = DAY_START + dt.timedelta(hours=12)
    j = 48
    want = sum(p[k] * b.e_rated_kwh for p, b in zip(per, bats, strict=True)) / sum(b.e_rated_kwh for b in bats)
    assert soc[j] == pytest.approx(want, abs=1e-3)
    assert "gCO₂/kWh" in page.inner_text("#carbon-now") and "6/21/2026" in page.inner_text("#carbon-now")
    # device and gateway health with last-seen times in park time; days-old data is stale, not "pushed"
    assert page.locator("#devices tbody tr").count() == len(tiny_park.devices)
    states = page.locator("#devices td.state").all_inner_texts()
    assert set(states) == {"stale"}, states  # every device reported, days ago
    # the last sample, 15:58 UTC, shown in park time (the browser here runs in UTC)
    assert "6/21/2026, 23:58:00" in page.inner_text("#devices")
    assert page.locator("#gateways tbody tr").count() >= 1
    assert "silent" in page.inner_text("#gateways")
    # the alert, acknowledged from the page
    page.click("#alerts button.ack")
    page.wait_for_selector("#alerts td:has-text('acknowledged by')", timeout=10_000)
    assert page.locator("#kpis .kpi .b").count() == 6  # each KPI with its rule-based value
    assert "tCO₂/tce" in page.inner_text("#indicators")
    page.screenshot(path=str(artifacts_dir / "dashboard.png"), full_page=True)
    page.close()
    assert errors == [], errors


def test_live_reading_history_navigation_and_phone(
    seeded: tuple[Api, str], browser: Any, tiny_park: Park, artifacts_dir: Path
) -> None:
    api, url = seeded
    errors: list[str] = []
    page = _open(browser, api, errors, viewport={"width": 390, "height": 844})
    # on a phone nothing overflows sideways
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(artifacts_dir / "dashboard-phone.png"), full_page=True)
    # a reading inserted after the page loaded arrives over the event stream
    page.wait_for_selector("body[data-live=open]", timeout=10_000)
    value = 432.5  # within PV1's range
    at = dt.datetime.now(UTC).replace(microsecond=0)
    assert api.store.ingest(ReadingBatch.from_rows([(at, "PV1", "p_kw", value, 0)])).rejected == []
    cell = page.locator('#devices tr[data-device="PV1"] td.p')
    page.wait_for_function(
        "() => document.querySelector('#devices tr[data-device=\"PV1\"] td.p').textContent === '432.5'",
        timeout=10_000,
    )
    assert cell.inner_text() == "432.5"
    assert page.locator('#devices tr[data-device="PV1"] td.state').inner_text() == "live"
    # history: the previous park day, its measured data against the raw rows
    page.click("#prev")
    page.wait_for_function("() => document.querySelector('#date').value === '2026-06-20'", timeout=10_000)
    page.wait_for_function(
        f"() => window.EMS_CHARTS['chart-grid'].data[0][0] === {int((DAY_START - dt.timedelta(days=1)).timestamp())}",
        timeout=10_000,
    )
    _check_measured(page, tiny_park, url, DAY_START - dt.timedelta(days=1))
    planned = page.evaluate(CHART_DATA, "chart-grid")[2]
    assert all(v is None for v in planned)  # no plan was stored for the 20th
    # week and month: hourly buckets of the park-time calendar period
    page.select_option("#span", "week")
    page.wait_for_function("() => window.EMS_CHARTS['chart-grid'].data[0].length === 168", timeout=10_000)
    assert page.input_value("#date") == "2026-06-15"  # the ISO week's Monday
    page.select_option("#span", "month")
    page.wait_for_function("() => window.EMS_CHARTS['chart-grid'].data[0].length === 720", timeout=10_000)
    assert page.input_value("#date") == "2026-06-01"
    # the date picker
    page.select_option("#span", "day")
    page.fill("#date", "2026-06-21")
    page.dispatch_event("#date", "change")
    page.wait_for_function(
        f"() => window.EMS_CHARTS['chart-grid'].data[0][0] === {int(DAY_START.timestamp())}", timeout=10_000
    )
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.close()
    assert errors == [], errors


def test_without_a_key_the_page_asks_for_one(seeded: tuple[Api, str], browser: Any) -> None:
    api, _ = seeded
    page = browser.new_page()
    page.goto(f"{api.url}/dashboard/")
    page.wait_for_selector("#key-form:not([hidden])", timeout=10_000)
    page.close()
