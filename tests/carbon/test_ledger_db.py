"""Ledgers, factor versions, reports and the hash chain on a real PostgreSQL (tests/conftest.py fixtures)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal as D
from pathlib import Path

import psycopg
import pytest

from ems.carbon import service
from ems.carbon.certificates import DoubleRetirement, LedgerError, OverRetirement, Period, PeriodConflict
from ems.carbon.factors import factor_from_mapping, read_series_csv
from ems.park import Park
from ems.store import Store
from ems.store import carbon_queries as CQ
from tests.carbon.conftest import T0, ingest_constant_power

HOUR = dt.timedelta(hours=1)
# four hours of 15-minute intervals: the park imports 800 kW throughout, loads draw 800 kW
FOUR_HOURS = {
    "M_GRID": [800.0] * 16,
    "LOAD1": [-800.0] * 16,
    "PV1": [0.0] * 16,
    "WT1": [0.0] * 16,
    "BESS1": [0.0] * 16,
}


@pytest.fixture
def metered(carbon_store: Store, carbon_park: Park) -> Store:
    ingest_constant_power(carbon_store, T0, 15, FOUR_HOURS)
    service.register_park_certificates(carbon_store, carbon_park)
    return carbon_store


def test_user_factor_is_a_new_version_and_published_value_stays(carbon_store: Store) -> None:
    f = factor_from_mapping(
        {
            "key": "cn-jiangsu-2022",
            "value": "0.5800",
            "region": "CN-JS",
            "data_year": 2022,
            "publisher": "Park energy office",
            "document": "internal memo 7",
            "note": "test",
        }
    )
    new = service.add_factor(carbon_store, f)
    assert new.id == "cn-jiangsu-2022@v2" and new.origin == "user"
    reg = service.load_registry(carbon_store)
    assert reg.get("cn-jiangsu-2022@v1").value == D("0.5978")  # published, untouched
    assert reg.get("cn-jiangsu-2022").value == D("0.5800")  # newest version by default
    with carbon_store.connection() as conn, pytest.raises(psycopg.errors.IntegrityConstraintViolation):
        conn.execute("UPDATE carbon_factor SET value = 0.1 WHERE key = 'cn-jiangsu-2022'")


def test_retirement_rules(metered: Store, carbon_park: Park) -> None:
    period = Period(T0, T0 + 2 * HOUR)
    # eligible = 800 kW * 2 h = 1600 kWh of grid import, no contracts
    assert service.eligible_kwh(metered, carbon_park, period) == D("1600.000")
    entries = service.retire(metered, carbon_park, ["GEC-T-000001"], period, "Tiny park")
    assert entries[0].seq == 1 and entries[0].basis_kwh == D("1600.000")
    with pytest.raises(DoubleRetirement, match="once only"):
        service.retire(metered, carbon_park, ["GEC-T-000001"], Period(T0 + 2 * HOUR, T0 + 3 * HOUR), "x")
    # a second MWh would exceed the 1.6 MWh eligible consumption
    with pytest.raises(OverRetirement):
        service.retire(metered, carbon_park, ["GEC-T-000002"], period, "Tiny park")
    with pytest.raises(PeriodConflict):
        service.retire(metered, carbon_park, ["GEC-T-000002"], Period(T0 + HOUR, T0 + 3 * HOUR), "Tiny park")
    with pytest.raises(LedgerError, match="unknown"):
        service.retire(metered, carbon_park, ["GEC-NOPE"], period, "Tiny park")
    # the database refuses a second retirement even if the checks were bypassed
    with metered.connection() as conn, pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute(
            "INSERT INTO carbon_certificate_event (serial, seq, kind, period_start, period_end, basis_kwh, "
            "beneficiary) VALUES ('GEC-T-000001', 1, 'retire', now(), now() + interval '1 h', 0, 'x')"
        )
    with metered.connection() as conn, pytest.raises(psycopg.errors.IntegrityConstraintViolation):
        conn.execute("DELETE FROM carbon_certificate_event")
    # a correction is a new entry with a reason; the original stays in the ledger
    with pytest.raises(LedgerError, match="reason"):
        service.reassign(metered, carbon_park, ["GEC-T-000001"], Period(T0 + 2 * HOUR, T0 + 4 * HOUR), " ")
    # moving it to one hour (800 kWh eligible) would over-retire that hour
    with pytest.raises(OverRetirement):
        service.reassign(metered, carbon_park, ["GEC-T-000001"], Period(T0, T0 + HOUR), "wrong period")
    service.reassign(metered, carbon_park, ["GEC-T-000001"], Period(T0 + 2 * HOUR, T0 + 4 * HOUR), "wrong period")
    with metered.connection() as conn:
        history = CQ.retirement_events(conn, "GEC-T-000001")
    assert [(e.seq, e.kind) for e in history] == [(1, "retire"), (2, "reassign")]


def test_factor_series_and_report_chain(metered: Store, carbon_park: Park, tmp_path: Path) -> None:
    period = Period(T0, T0 + 2 * HOUR)
    service.record_delivery(metered, carbon_park, "GPT-TEST", period, D("400"), "period", "settlement 2026-03")
    service.retire(metered, carbon_park, ["GEC-T-000001"], period, "Tiny park")
    pts = service.factor_series(metered, carbon_park, T0, T0 + 2 * HOUR, "hour", "market")
    # per hour: import 800 kWh, contract 200 (400 pro rata), certificate 1000 * 600/1200 = 500
    # → residual 100 kWh
    # market factor = 100 * 0.6096 / 800 = 0.0762 kg/kWh = 76.2 g/kWh
    assert [p.value_g_per_kwh for p in pts] == [D("76.200"), D("76.200")]
    loc = service.factor_series(metered, carbon_park, T0, T0 + 2 * HOUR, "hour", "location")
    assert [p.value_g_per_kwh for p in loc] == [D("597.800"), D("597.800")]
    assert all(p.completeness == 1 and not p.estimated for p in pts)

    issued = service.issue_report(metered, carbon_park, T0, T0 + 2 * HOUR, tmp_path)
    assert set(issued.files) == {"json", "csv", "pdf"}
    report = json.loads(issued.files["json"].read_bytes())["report"]
    assert report["market_based"]["scope2_emissions_kg"] == "121.920"  # 200 kWh * 0.6096
    assert report["evidence"]["contract_deliveries"][0]["claimed_in_report_kwh"] == "400.000"
    assert report["evidence"]["certificate_retirements"][0]["serials"] == ["GEC-T-000001"]
    v = service.verify_report_file(issued.files["json"], store=metered)
    assert v.ok and v.entry is not None and v.entry["seq"] == 1
    # same inputs → same bytes and no second chain entry
    again = service.issue_report(metered, carbon_park, T0, T0 + 2 * HOUR, tmp_path / "again", pdf=False)
    assert again.content_sha256 == issued.content_sha256
    assert (tmp_path / "again" / issued.files["json"].name).read_bytes() == issued.files["json"].read_bytes()
    assert len(service.list_reports(metered)) == 1
    # restatement after a late correction of the delivery: new report that references the old one
    service.record_delivery(metered, carbon_park, "GPT-TEST", period, D("300"), "period", "corrected", replaces=1)
    restated = service.issue_report(
        metered, carbon_park, T0, T0 + 2 * HOUR, tmp_path, replaces=issued.content_sha256, pdf=False
    )
    assert restated.content_sha256 != issued.content_sha256
    assert json.loads(restated.files["json"].read_bytes())["report"]["replaces"] == issued.content_sha256
    assert [e["seq"] for e in service.list_reports(metered)] == [1, 2]
    # tampering with the issued file is detected, against the database and the exported chain
    doc = json.loads(issued.files["json"].read_bytes())
    doc["report"]["totals"]["grid_import_kwh"] = "1.000"
    bad = tmp_path / "tampered.json"
    bad.write_text(json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False), encoding="utf-8")
    assert not service.verify_report_file(bad, store=metered).ok
    chain = tmp_path / "hash_chain.jsonl"
    assert service.verify_report_file(issued.files["json"], chain_file=chain).ok
    assert not service.verify_report_file(bad, chain_file=chain).ok


def test_data_gap_is_flagged_in_report(carbon_store: Store, carbon_park: Park) -> None:
    # PV1 sends nothing in interval 2 of 8. The store holds its last sample for 120 s, so 60 s of the
    # 900 s interval are covered: coverage 1/15, scaled back to the full interval (100 kW * 0.25 h = 25 kWh)
    data = {
        "M_GRID": [800.0] * 8,
        "LOAD1": [-900.0] * 8,
        "PV1": [100.0] * 8,
        "WT1": [0.0] * 8,
        "BESS1": [0.0] * 8,
    }
    ingest_constant_power(carbon_store, T0, 15, data, skip={"PV1": [2]})
    content = service.report_content(carbon_store, carbon_park, T0, T0 + 2 * HOUR)
    assert content["intervals"]["fills"][2] == "PV1:scaled"
    # completeness = mean boundary coverage = (1 + 1/15 + 1 + 1) / 4
    assert content["intervals"]["completeness"][2] == f"{(3 + 1 / 15) / 4:.6f}"
    assert content["intervals"]["estimated"].count(True) == 1
    assert content["intervals"]["local_re_kwh"][2] == "25.000"
    assert content["data_quality"]["filled_values"]["scaled"] == 1


def test_delivery_needs_known_contract_and_metered_period(carbon_store: Store, carbon_park: Park) -> None:
    period = Period(T0, T0 + HOUR)
    with pytest.raises(LedgerError, match="unknown green contract"):
        service.record_delivery(carbon_store, carbon_park, "NOPE", period, D("1"), "period")
    with pytest.raises(LedgerError, match="no metered grid import"):
        service.record_delivery(carbon_store, carbon_park, "GPT-TEST", period, D("1"), "period")


def test_hourly_grid_factor_series_in_the_database(metered: Store, carbon_park: Park, tmp_path: Path) -> None:
    csv_path = tmp_path / "hourly.csv"
    csv_path.write_text(
        "time,value\n" + "".join(f"{(T0 + h * HOUR).isoformat()},{v}\n" for h, v in enumerate([0.7, 0.5, 0.6, 0.6])),
        encoding="utf-8",
    )
    s = service.add_series(
        metered,
        read_series_csv(
            csv_path,
            "js-hourly-2026",
            interval_minutes=60,
            publisher="grid company",
            document="hourly data 2026-03",
        ),
    )
    assert s.id == "js-hourly-2026@v1"
    park = carbon_park.model_copy(
        update={"carbon": carbon_park.carbon.model_copy(update={"grid_factor": "js-hourly-2026"})}
    )
    pts = service.factor_series(metered, park, T0, T0 + 2 * HOUR, "hour", "location")
    # 800 kWh per hour at 0.7 then 0.5 kg/kWh
    assert [p.value_g_per_kwh for p in pts] == [D("700.000"), D("500.000")]
    service.retire(metered, carbon_park, ["GEC-T-000003"], Period(T0, T0 + 2 * HOUR), "Tiny park")
    ledger = service.certificate_ledger(metered)
    assert [c["status"] for c in ledger] == ["available", "available", "retired"]
    assert ledger[2]["entries"][0]["kind"] == "retire"
