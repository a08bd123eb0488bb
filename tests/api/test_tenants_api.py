"""Tenant routes over real HTTP: statements, CBAM sheet, inventory, production, and tenant-key isolation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.routers import tenants
from api.server import BackgroundServer
from ems.carbon import service as carbon
from ems.carbon.certificates import Period
from ems.park import Park
from ems.store import Store
from ems.store.keys import create_key
from tests.footprint import conftest as fpc
from tests.footprint.conftest import POWER_KW, T0, ingest_constant_power

from .conftest import Api, make_api

fp_park = fpc.fp_park  # the two-tenant park and its store (tests/footprint/conftest.py)
fp_store = fpc.fp_store
N = 20  # intervals of 15 minutes: 20 x 100 kWh = 2000 kWh of grid import
END = T0 + dt.timedelta(minutes=15 * N)
PARAMS = {"start": T0.isoformat(), "end": END.isoformat()}


@pytest.fixture
def tapi(fp_store: Store, fp_park: Park, tmp_path: Path) -> Iterator[Api]:
    ingest_constant_power(fp_store, T0, 15, {d: [p[0]] * N for d, p in POWER_KW.items()})
    carbon.register_park_certificates(fp_store, fp_park)
    # one certificate (1000 kWh) for B against the 2000 kWh window: 50 kWh of each interval's 100 kWh import
    carbon.retire(fp_store, fp_park, ["GEC-B-000001"], Period(T0, END), "B")
    api = make_api(fp_store, fp_park, data_dir=tmp_path)
    api.server.stop()  # restart with the tenant router included (until the lead registers it)
    app = api.app
    if not any(getattr(r, "path", "").startswith("/v1/tenants") for r in app.routes):  # type: ignore[attr-defined]
        app.include_router(tenants.router)  # type: ignore[attr-defined]
    api.server = BackgroundServer(app).start()  # type: ignore[arg-type]
    api.url = api.server.url
    _, api.tokens["tenant_b"] = create_key(fp_store, "tenant B", "tenant", tenant_id="B")
    yield api
    api.server.stop()


def test_statement_numbers_over_http(tapi: Api) -> None:
    with tapi.client("auditor") as c:
        r = c.get("/v1/tenants/B/statement", params=PARAMS)
        assert r.status_code == 200, r.text
        b = r.json()
        bal = c.get("/v1/tenant-allocation", params=PARAMS).json()
    # B: 60 kWh per interval (50 metered + 0.5 x 20 shared) x 20 intervals
    assert b["consumption_kwh"] == "1200.000"
    # B's grid energy is 40 kWh per interval and its own certificate brings 50 kWh: all covered, 10 kWh pooled
    assert b["supply_mix_kwh"]["own_certificate"] == "800.000"
    assert b["evidence"]["own_surplus_returned_to_pool_kwh"] == "200.000"
    assert b["market_based"]["emissions_kg"] == "0.000"
    # location: 40 kWh x 0.5978 = 23.912 kg per interval
    assert b["location_based"]["emissions_kg"] == "478.240"
    assert [c["serial"] for c in b["evidence"]["own_certificates"]] == ["GEC-B-000001"]
    assert b["evidence"]["own_certificates"][0]["production_start"] == "2026-01-01"
    # the balance: every column's rows add up to the park value exactly
    assert set(bal["park_minus_rows"].values()) == {"0.000"}
    assert bal["park"]["consumption_kwh"] == "3000.000" and bal["park"]["market_kg"] == bal["park"]["market_kg"]


def test_tenant_key_sees_only_its_own_data(tapi: Api) -> None:
    with tapi.client("tenant") as a:  # the first tenant of the park: A
        assert [t["id"] for t in a.get("/v1/tenants").json()] == ["A"]
        assert a.get("/v1/tenants/A/statement", params=PARAMS).status_code == 200
        for path in ("/v1/tenants/B/statement", "/v1/tenants/B/cbam", "/v1/tenants/B/statements"):
            r = a.get(path, params=PARAMS)
            assert r.status_code == 404, (path, r.status_code)
            assert "B" in r.json()["detail"] and "Weave" not in r.text
        assert a.post("/v1/tenants/B/statements", json=PARAMS).status_code == 404
        assert a.get("/v1/tenant-allocation", params=PARAMS).status_code == 403
        issued = a.post("/v1/tenants/A/statements", json=PARAMS)
        assert issued.status_code == 201, issued.text
        doc = issued.json()
        assert a.get(doc["downloads"]["pdf"]).content.startswith(b"%PDF")
        assert a.get(doc["downloads"]["csv"]).text.startswith("start_utc,consumption_kwh")
        assert [d["content_sha256"] for d in a.get("/v1/tenants/A/statements").json()] == [doc["content_sha256"]]
    with tapi.client("tenant_b") as b:
        assert b.get(doc["downloads"]["json"]).status_code == 404  # A's file, B's key
        assert b.get(f"/v1/tenants/B/statements/{doc['content_sha256']}/json").status_code == 404
        assert b.get("/v1/tenants/B/statements").json() == []
        assert b.get("/v1/products/A1/inventory", params=PARAMS).status_code == 404


def test_statement_pdf_in_the_readers_language(tapi: Api) -> None:
    """Issue 18: the API renders the PDF in the request's language (the CLI's Chinese labels, every
    glyph drawn from the embedded CJK font); the hashed JSON is the same whatever the language."""
    from tests.carbon.test_report_i18n import _drawn_glyphs
    from tests.footprint.test_statement_pdf_i18n import _text

    with tapi.client("tenant") as a:
        issued = a.post("/v1/tenants/A/statements", json=PARAMS, headers={"Accept-Language": "zh-CN,en;q=0.5"})
        assert issued.status_code == 201, issued.text
        pdf = a.get(issued.json()["downloads"]["pdf"]).content
        refused = a.post(
            "/v1/tenants/A/statements", json={**PARAMS, "replaces": "0" * 64}, headers={"Accept-Language": "zh-CN"}
        )
    text = _text(pdf)
    assert "企业（租户）用电声明" in text and "基于位置的排放量" in text and "Tenant electricity statement" not in text
    assert _drawn_glyphs(pdf) > 500
    assert refused.status_code == 400 and refused.headers["content-language"] == "zh-CN"
    assert refused.json()["detail"] == f"待替换的文件 {'0' * 64} 不在碳足迹哈希链中"


def test_production_push_and_per_unit(tapi: Api) -> None:
    rows = [
        {"line": "A1", "day": "2026-03-02", "quantity": "10", "unit": "t"},
        {"line": "A1", "day": "2026-03-02", "quantity": "-1", "unit": "t"},
        {"line": "NOPE", "day": "2026-03-02", "quantity": "1", "unit": "t"},
        {"line": "A1", "day": "2026-03-02", "quantity": "1", "unit": "kg"},
    ]
    with tapi.client("tenant_b") as b:
        r = b.post("/v1/production", json=rows[:1]).json()
        assert r["accepted"] == 0 and "not a line of this key's tenant" in r["rejected"][0]["reason"]
    with tapi.client("tenant") as a:
        r = a.post("/v1/production", json=rows).json()
        assert r["accepted"] == 1
        assert [x["row"] for x in r["rejected"]] == [1, 2, 3]
        inv = a.get("/v1/products/A1/inventory", params=PARAMS).json()
    # line A1: 50 kWh per interval x 20 = 1000 kWh over 10 t
    assert inv["electricity_kwh"] == "1000.000" and inv["electricity_kwh_per_unit"] == "100.000000"
    assert inv["production"]["quantity"] == "10"


def test_cbam_sheet_uses_default_factor_without_ppa(tapi: Api) -> None:
    with tapi.client("auditor") as c:
        sheet = c.get("/v1/tenants/B/cbam", params=PARAMS).json()
    e = sheet["electricity"]
    assert e["consumed_mwh"] == "1.200000"
    src = {s["source"]: s for s in e["sources"]}
    # grid 40 kWh x 20 = 0.8 MWh at the Jiangsu default 0.5978 → 0.47824 t; the certificate does not count
    assert src["grid_default"]["mwh"] == "0.800000" and src["grid_default"]["emissions_t"] == "0.478240"
    # PV 20 kWh x 20 = 0.4 MWh through the park network: direct technical connection, zero
    assert src["direct_technical_connection"]["mwh"] == "0.400000"
    assert e["certificates_not_used"]["serials"] == ["GEC-B-000001"]
    assert e["emission_factor_t_per_mwh"] == "0.398533"  # 0.47824 / 1.2


def test_a_tenant_cannot_restate_another_tenants_statement(tapi: Api) -> None:
    """B's issued statement named as replaced by A is answered as not in the chain (A must not restate, nor learn
    of, B's documents); B's statement stays unreplaced and B can still restate it."""
    with tapi.client("tenant_b") as b:
        issued = b.post("/v1/tenants/B/statements", json=PARAMS)
        assert issued.status_code == 201, issued.text
        b_hash = issued.json()["content_sha256"]
    with tapi.client("tenant") as a:
        r = a.post("/v1/tenants/A/statements", json={**PARAMS, "replaces": b_hash})
    assert r.status_code == 400 and "is not in the" in r.json()["detail"]
    from ems.documents.service import FOOTPRINT_DOCUMENTS

    entries = FOOTPRINT_DOCUMENTS.entries(tapi.store)
    assert [e["content_sha256"] for e in entries if e.get("replaces") == b_hash] == []
