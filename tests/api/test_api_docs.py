"""Integrator-facing API surface (issue 21): self-hosted docs, a closed OpenAPI document, the
quantity list for gateway keys, and a NaN rejecting only its own row. All over real HTTP."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import Api


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref" and isinstance(v, str)] + [
            r for v in node.values() for r in _refs(v)
        ]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]  # JSON pointer escapes (RFC 6901)
    return node


def test_every_ref_in_the_openapi_document_resolves(api: Api) -> None:
    """Regression (issue 21): the document pointed at a missing #/components/schemas/Reading."""
    doc = httpx.get(f"{api.url}/openapi.json", timeout=60).json()
    refs = _refs(doc)
    assert len(refs) > 50
    missing = []
    for ref in sorted(set(refs)):
        try:
            _resolve(doc, ref)
        except KeyError:
            missing.append(ref)
    assert missing == []
    body = doc["paths"]["/v1/telemetry"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "time" in str(body)  # the reading's fields are inlined, not behind a dangling ref


def test_a_gateway_key_reads_the_quantity_list(api: Api) -> None:
    with api.client("gateway") as c:
        r = c.get("/v1/quantities")
    assert r.status_code == 200, r.text
    assert {"name": "p_kw", "unit": "kW"}.items() <= next(q for q in r.json() if q["name"] == "p_kw").items()


def test_nan_and_infinity_reject_their_rows_only(api: Api) -> None:
    """The bare tokens NaN/Infinity (not RFC 8259; written by Python's json, many PLC JSON writers) used to
    fail the whole batch with 400. Each now rejects its own row; the others are stored (read back by SQL)."""
    body = (
        '{"readings": ['
        '{"time": "2026-06-01T00:00:00Z", "device": "PV1", "quantity": "p_kw", "value": 101.5},'
        '{"time": "2026-06-01T00:00:00Z", "device": "PV1", "quantity": "q_kvar", "value": NaN},'
        '{"time": "2026-06-01T00:00:01Z", "device": "PV1", "quantity": "p_kw", "value": -Infinity},'
        '{"time": "2026-06-01T00:00:02Z", "device": "PV1", "quantity": "p_kw", "value": 99.25}]}'
    )
    with api.client("gateway") as c:
        r = c.post("/v1/telemetry", content=body, headers={"Content-Type": "application/json"})
        broken = c.post("/v1/telemetry", content=body[:-3], headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["submitted"], report["accepted"]) == (4, 2)
    assert [row["row"] for row in report["rejected"]] == [1, 2]
    assert all("finite" in row["detail"] or "finite" in row["reason"] for row in report["rejected"]), report
    with api.store.connection() as conn:
        stored = conn.execute(
            "SELECT t.time, q.name, t.value FROM telemetry t JOIN quantity q USING (quantity_id) ORDER BY t.time"
        ).fetchall()
    t0 = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    assert [(t.astimezone(dt.UTC), q, v) for t, q, v in stored] == [
        (t0, "p_kw", 101.5),
        (t0 + dt.timedelta(seconds=2), "p_kw", 99.25),
    ]
    assert broken.status_code == 400 and "not valid JSON" in broken.json()["detail"]  # still a clear refusal


def test_docs_page_and_assets_are_served_by_the_api(api: Api) -> None:
    page = httpx.get(f"{api.url}/docs", timeout=30)
    assert page.status_code == 200
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert urls and all(u.startswith("/docs/") for u in urls), urls  # nothing from another host
    for u in urls:
        r = httpx.get(f"{api.url}{u}", timeout=30)
        assert r.status_code == 200 and len(r.content) > 100, u
    assert "<script>" not in page.text  # the CSP (default-src 'self') would block an inline script
    assert httpx.get(f"{api.url}/docs/assets/..%2Fapp.py").status_code == 404
    assert httpx.get(f"{api.url}/docs/assets/index.j2").status_code == 404


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium; .ci/run installs it")
def test_docs_render_in_a_browser_without_internet(api: Api) -> None:
    """Swagger UI draws the operations with every request to another host refused."""
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    outside: list[str] = []
    with sync_playwright() as p:
        # every request to another host goes to a proxy that does not exist, and fails
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--proxy-server=http://127.0.0.1:9"],  # loopback bypasses it
        )
        page = browser.new_page()
        page.on("request", lambda r: None if r.url.startswith(api.url) else outside.append(r.url))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{api.url}/docs")
        page.wait_for_selector("#operations-tag-gateways", timeout=30_000)  # the spec is loaded and drawn
        title = page.inner_text(".info .title")
        n_tags = page.locator(".opblock-tag").count()
        browser.close()
    assert errors == [] and outside == []
    assert "Zero-carbon park EMS" in title and n_tags >= 8


def test_a_1999_timestamp_and_a_1e300_counter_reject_their_rows(api: Api) -> None:
    """Issue 21 named both as accepted; each is rejected with its reason, the good row is stored."""
    rows = [
        {"time": "1999-06-01T00:00:00Z", "device": "PV1", "quantity": "p_kw", "value": 1.0},
        {"time": "2026-06-01T00:00:00Z", "device": "M_GRID", "quantity": "e_in_kwh", "value": 1e300},
        {"time": "2026-06-01T00:00:00Z", "device": "M_GRID", "quantity": "e_in_kwh", "value": 1234.5},
    ]
    with api.client("gateway") as c:
        report = c.post("/v1/telemetry", json={"readings": rows}).json()
    assert [(r["row"], r["reason"]) for r in report["rejected"]] == [(0, "too_early"), (1, "out_of_range")]
    with api.store.connection() as conn:
        assert conn.execute("SELECT value FROM telemetry").fetchall() == [(1234.5,)]
