"""Carbon routes over real HTTP: factor series, indicators, reports, verification, ledger."""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
from pypdf import PdfReader

from ems.telemetry import ReadingBatch, to_us

from .conftest import Api

T0 = dt.datetime(2026, 6, 1, 0, 0, tzinfo=dt.UTC)


def _seed_flat_import(api: Api, hours: int = 2) -> None:
    """Grid meter imports 100 kW, the load draws 100 kW, everything else idle, every minute."""
    n = hours * 60 + 1
    t = to_us(T0) + np.arange(n, dtype=np.int64) * 60_000_000
    cols = [("M_GRID", 100.0), ("LOAD1", -100.0), ("PV1", 0.0), ("WT1", 0.0), ("BESS1", 0.0)]
    batch = ReadingBatch.concat(
        [
            ReadingBatch(t, np.full(n, d, object), np.full(n, "p_kw", object), np.full(n, v), np.zeros(n, np.int16))
            for d, v in cols
        ]
    )
    assert api.store.ingest(batch, now=T0 + dt.timedelta(days=2)).accepted == 5 * n


def test_factor_series_matches_published_factors(api: Api) -> None:
    _seed_flat_import(api)
    params = {"start": "2026-06-01T08:00:00+08:00", "end": "2026-06-01T10:00:00+08:00", "resolution": "hour"}
    with api.client("operator") as c:
        loc = c.get("/v1/carbon/factors", params={**params, "method": "location"})
        assert loc.status_code == 200, loc.text
        mkt = c.get("/v1/carbon/factors", params={**params, "method": "market"}).json()
    body = loc.json()
    # all consumption is grid import: location = Jiangsu 2022 (0.5978 kg/kWh, MEE/NBS), market = national
    # excluding market-traded non-fossil 2022 (0.5856) as the residual of a park with no green claims
    assert [p["value_g_per_kwh"] for p in body["data"]] == [597.8, 597.8]
    assert [p["value_g_per_kwh"] for p in mkt["data"]] == [585.6, 585.6]
    assert all(p["completeness"] == 1.0 and p["estimated"] is False for p in body["data"])
    assert body["data"][0]["from"].startswith("2026-06-01T08:00:00+08:00")
    assert body["data"][0]["to"].startswith("2026-06-01T09:00:00+08:00")
    assert "0.5978" in str(body["provenance"]["grid"])


def test_indicators_and_report_lifecycle(api: Api) -> None:
    _seed_flat_import(api)
    period = {"start": "2026-06-01T08:00:00+08:00", "end": "2026-06-01T10:00:00+08:00"}
    with api.client("operator") as c:
        ind = c.get("/v1/carbon/indicators", params=period).json()
        rows = {r["name"]: r for r in ind["rows"]}
        # 200 kWh x 0.1229 kgce/kWh = 0.02458 tce; 200 kWh x 0.5856 kg = 0.11712 t → 4.7648 tCO2/tce
        assert rows["energy consumption"]["value"].startswith("0.02458")
        assert rows["CO₂ per unit of energy"]["value"].startswith("4.76")
        assert rows["CO₂ per unit of energy"]["meets"] is False
        # every figure names its definition: the three CFE definitions of ems/carbon/matching.py
        assert set(ind["cfe_scores"]) == {"ems-storage-aware-interval", "energytag-hourly", "google-24x7"}
        assert all(v["definition"] == k and v["title"] for k, v in ind["cfe_scores"].items())
        assert ind["clean_share_definition"]
        assert c.post("/v1/reports", json=period).status_code == 403  # operators do not issue reports
    with api.client("auditor") as a:
        r = a.post("/v1/reports", json=period)
        assert r.status_code == 201, r.text
        issued = r.json()
        h = issued["content_sha256"]
        assert set(issued["downloads"]) == {"json", "csv", "pdf"}
        assert a.post("/v1/reports", json=period).json()["content_sha256"] == h  # reproducible: same hash
        listed = a.get("/v1/reports").json()
        assert [e["content_sha256"] for e in listed] == [h]
        data = a.get(f"/v1/reports/{h}/json").content
        pdf = a.get(f"/v1/reports/{h}/pdf")
        assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
        csv_lines = a.get(f"/v1/reports/{h}/csv").text.strip().splitlines()
        assert len(csv_lines) == 1 + 8  # header + eight 15-minute intervals
        # 100 kW for 15 min = 25 kWh of grid import; x 0.5978 kg/kWh = 14.945 kg (location-based)
        assert csv_lines[1].split(",")[1] == "25.000" and "14.945" in csv_lines[1]
        ok = a.post("/v1/reports/verify", content=data, headers={"Content-Type": "application/json"}).json()
        assert ok["ok"] is True and ok["content_sha256"] == h
        tampered = data.replace(b"597.8", b"497.8", 1) if b"597.8" in data else data.replace(b"0.5978", b"0.4978", 1)
        bad = a.post("/v1/reports/verify", content=tampered, headers={"Content-Type": "application/json"}).json()
        assert bad["ok"] is False and bad["problems"]
        assert a.get("/v1/reports/nope/json").status_code == 404
        assert isinstance(a.get("/v1/certificates").json(), list)
        # issue 18: the PDF in the reader's language (the hashed JSON is the same in every language)
        hour = {"start": "2026-06-01T08:00:00+08:00", "end": "2026-06-01T09:00:00+08:00"}
        zh = a.post("/v1/reports", json=hour, headers={"Accept-Language": "zh-CN"})
        assert zh.status_code == 201, zh.text
        zh_pdf = a.get(zh.json()["downloads"]["pdf"]).content
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(zh_pdf)).pages)
        assert "园区电力碳排放因子" in text and "基于位置" in text


def test_out_of_range_and_unaligned_periods(api: Api) -> None:
    """Regression (found by the schemathesis fuzz): a 1554 date hit local-mean-time gaps → 500."""
    _seed_flat_import(api)
    with api.client("operator") as c:
        r = c.get("/v1/carbon/indicators", params={"start": "1554-04-13T16:19:28Z", "end": "1554-04-13T16:43:28-04:30"})
        assert r.status_code == 400 and "between 2000 and 2100" in r.json()["detail"]
        # an unaligned period is widened to whole intervals: 08:05-08:20 → 08:00-08:30, two 15-min points
        r = c.get(
            "/v1/carbon/factors",
            params={
                "start": "2026-06-01T08:05:00+08:00",
                "end": "2026-06-01T08:20:00+08:00",
                "resolution": "interval",
                "method": "location",
            },
        )
        assert [p["value_g_per_kwh"] for p in r.json()["data"]] == [597.8, 597.8]
