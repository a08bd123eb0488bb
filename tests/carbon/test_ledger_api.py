"""Ledger writes and report integrity over real HTTP (issue 22): the CLI's rules, with roles."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from ems.carbon import service
from ems.documents.signing import generate_pem, signer_from_pem
from ems.park import Park
from ems.store import Store
from tests.api.conftest import Api, make_api
from tests.carbon.conftest import T0, ingest_constant_power

HOUR = dt.timedelta(hours=1)
FOUR_HOURS = {"M_GRID": [800.0] * 16, "LOAD1": [-800.0] * 16, "PV1": [0.0] * 16, "WT1": [0.0] * 16, "BESS1": [0.0] * 16}
PERIOD = {"start": T0.isoformat(), "end": (T0 + 4 * HOUR).isoformat()}


@pytest.fixture
def ledger_api(carbon_store: Store, carbon_park: Park, tmp_path: Path) -> Iterator[Api]:
    ingest_constant_power(carbon_store, T0, 15, FOUR_HOURS)
    service.register_park_certificates(carbon_store, carbon_park)
    key = tmp_path / "signing.pem"
    key.write_bytes(generate_pem())
    a = make_api(carbon_store, carbon_park, data_dir=tmp_path, report_signing_key_file=key)
    yield a
    a.server.stop()


def test_ledger_writes_with_roles_and_refusals(ledger_api: Api) -> None:
    delivery = {"contract_id": "GPT-TEST", **PERIOD, "kwh": "30", "reference": "settlement 2026-03"}
    with ledger_api.client("auditor") as c:  # auditors read the ledger, they do not write it
        assert c.post("/v1/contracts/deliveries", json=delivery).status_code == 403
        assert (
            c.post("/v1/certificates/retirements", json={"serials": ["x"], **PERIOD, "beneficiary": "b"}).status_code
            == 403
        )
    with ledger_api.client("operator") as c:
        r = c.post("/v1/contracts/deliveries", json=delivery)
        assert r.status_code == 201, r.text
        # grid import of the period: 800 kW x 4 h = 3200 kWh
        assert (r.json()["kwh"], r.json()["basis_kwh"]) == ("30", "3200.000")
        bad = c.post("/v1/contracts/deliveries", json={**delivery, "contract_id": "NOPE"})
        assert bad.status_code == 400 and "unknown green contract" in bad.json()["detail"]

        retire = {"serials": ["GEC-T-000001..GEC-T-000002"], **PERIOD, "beneficiary": "Tiny park"}
        r = c.post("/v1/certificates/retirements", json=retire)
        assert r.status_code == 201, r.text
        # eligible = 3200 - 30 kWh of contract = 3170 kWh; 2 MWh fit
        assert [(e["serial"], e["basis_kwh"]) for e in r.json()] == [
            ("GEC-T-000001", "3170.000"),
            ("GEC-T-000002", "3170.000"),
        ]
        again = c.post("/v1/certificates/retirements", json={**retire, "serials": ["GEC-T-000001"]})
        assert again.status_code == 409 and "once only" in again.json()["detail"]
        # the park file holds GEC-T-000001..3 only
        unknown = c.post("/v1/certificates/retirements", json={**retire, "serials": ["GEC-T-000009"]})
        assert unknown.status_code == 400 and "unknown certificate serial" in unknown.json()["detail"]
        # an unmetered hour has no eligible consumption: over-retirement
        later = {"start": (T0 + 5 * HOUR).isoformat(), "end": (T0 + 6 * HOUR).isoformat()}
        over = c.post("/v1/certificates/retirements", json={**retire, **later, "serials": ["GEC-T-000003"]})
        assert over.status_code == 409 and "eligible consumption" in over.json()["detail"]
        moved = c.post("/v1/certificates/reassignments", json={"serials": ["GEC-T-000002"], **PERIOD, "reason": ""})
        assert moved.status_code == 422  # a reassignment needs its reason
        body = {"serials": ["GEC-T-000002"], **PERIOD, "reason": "settlement corrected"}
        moved = c.post("/v1/certificates/reassignments", json=body)
        assert moved.status_code == 201, moved.text
        assert [(e["serial"], e["seq"], e["kind"], e["reason"]) for e in moved.json()] == [
            ("GEC-T-000002", 2, "reassign", "settlement corrected")
        ]
        never = c.post("/v1/certificates/reassignments", json={**body, "serials": ["GEC-T-000003"]})
        assert never.status_code == 400 and "never retired" in never.json()["detail"]
        listed = c.get("/v1/contracts/deliveries").json()
    assert [d["reference"] for d in listed] == ["settlement 2026-03"]
    assert [e.serial for e in service.effective_retirements(ledger_api.store)] == ["GEC-T-000001", "GEC-T-000002"]


def test_signed_reports_restatement_and_file_verification_over_http(ledger_api: Api, tmp_path: Path) -> None:
    with ledger_api.client("auditor") as c:
        r = c.post("/v1/reports", json=PERIOD)
        assert r.status_code == 201, r.text
        first = r.json()
        public_key = signer_from_pem((tmp_path / "signing.pem").read_bytes(), "k").public_key_hex
        assert first["entry"]["public_key"] == public_key and len(first["entry"]["signature"]) == 128
        csv = c.get(first["downloads"]["csv"]).content
        v = c.post("/v1/reports/verify", content=csv, headers={"Content-Type": "text/csv"}).json()
        assert (v["ok"], v["format"], v["status"]) == (True, "csv", "valid")
        files_before = sorted(p.name for p in (tmp_path / "reports").iterdir())
        refused = c.post("/v1/reports", json={**PERIOD, "replaces": "a" * 64})
        assert refused.status_code == 400 and "not in the hash chain" in refused.json()["detail"]
        assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == files_before
    with ledger_api.client("operator") as c:
        d = {"contract_id": "GPT-TEST", **PERIOD, "kwh": "30"}
        assert c.post("/v1/contracts/deliveries", json=d).status_code == 201
    with ledger_api.client("auditor") as c:
        second = c.post("/v1/reports", json={**PERIOD, "replaces": first["content_sha256"]}).json()
        pdf = c.get(first["downloads"]["pdf"]).content
        v = c.post("/v1/reports/verify", content=pdf, headers={"Content-Type": "application/pdf"}).json()
        assert v["ok"] and v["format"] == "pdf"
        assert v["status"] == f"valid, replaced by {second['content_sha256']}"
        future = {"start": "2099-01-01T00:00:00+08:00", "end": "2099-01-02T00:00:00+08:00"}
        refused = c.post("/v1/reports", json=future)
        assert refused.status_code == 400 and "not over" in refused.json()["detail"]
