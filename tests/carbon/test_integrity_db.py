"""Report and ledger integrity on a real PostgreSQL (issue 22; issue 19 opening state; issue 21 issuance).

Each test fails on the behaviour before issue 22: restated reports verified plain "OK", the evidence
listed the basis recorded at retirement, refused restatements left files, ``software_version`` was
outside the chain hash, CSV/PDF could not be verified, a 2019 certificate retired against 2026.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal as D
from pathlib import Path

import pytest

from ems.carbon import service
from ems.carbon.certificates import Period
from ems.carbon.eligibility import IneligibleCertificate
from ems.documents import chain as chain_rules
from ems.documents.service import DocumentError, read_chain_file
from ems.documents.signing import generate_pem, signer_from_pem
from ems.park import Park
from ems.store import Store
from ems.store import carbon_queries as CQ
from tests.carbon.conftest import T0, ingest_constant_power

HOUR = dt.timedelta(hours=1)
FOUR_HOURS = {
    "M_GRID": [800.0] * 16,
    "LOAD1": [-800.0] * 16,
    "PV1": [0.0] * 16,
    "WT1": [0.0] * 16,
    "BESS1": [0.0] * 16,
}
PERIOD = Period(T0, T0 + 4 * HOUR)


@pytest.fixture
def metered(carbon_store: Store, carbon_park: Park) -> Store:
    ingest_constant_power(carbon_store, T0, 15, FOUR_HOURS)
    service.register_park_certificates(carbon_store, carbon_park)
    return carbon_store


def _report(path: Path) -> dict:  # type: ignore[type-arg]
    return json.loads(path.read_bytes())["report"]


def test_restatement_is_a_state_and_states_the_basis_it_used(metered: Store, carbon_park: Park, tmp_path: Path) -> None:
    # 800 kW import for 4 h = 3200 kWh eligible when the certificate is retired
    service.retire(metered, carbon_park, ["GEC-T-000001"], PERIOD, "Tiny park")
    first = service.issue_report(metered, carbon_park, PERIOD.start, PERIOD.end, tmp_path, pdf=False)
    ev = _report(first.files["json"])["evidence"]["certificate_retirements"][0]
    assert (ev["basis_kwh"], ev["allocated_in_report_kwh"]) == ("3200.000", "1000.000")
    # a late green-contract settlement of 30 kWh: eligible import 3200 - 30 = 3170 kWh
    service.record_delivery(metered, carbon_park, "GPT-TEST", PERIOD, D("30"), "period", "late settlement")

    # refused restatements write nothing: unknown report, other period
    refused = tmp_path / "refused"
    with pytest.raises(DocumentError, match="not in the hash chain"):
        service.issue_report(metered, carbon_park, PERIOD.start, PERIOD.end, refused, replaces="f" * 64, pdf=False)
    with pytest.raises(DocumentError, match="same park and period"):
        service.issue_report(metered, carbon_park, T0, T0 + 2 * HOUR, refused, replaces=first.content_sha256, pdf=False)
    assert not refused.exists() or not any(refused.iterdir())

    restated = service.issue_report(
        metered, carbon_park, PERIOD.start, PERIOD.end, tmp_path, replaces=first.content_sha256
    )
    ev = _report(restated.files["json"])["evidence"]["certificate_retirements"][0]
    assert (ev["basis_kwh"], ev["basis_at_retirement_kwh"]) == ("3170.000", "3200.000")
    assert ev["allocated_in_report_kwh"] == "1000.000"  # 1 MWh < 3170 kWh: the whole certificate

    # the replaced report is still valid, and says by which report it was replaced
    old = service.verify_report_file(first.files["json"], store=metered)
    assert old.ok and old.replaced_by == restated.content_sha256
    assert old.status == f"valid, replaced by {restated.content_sha256}"
    new = service.verify_report_file(restated.files["json"], store=metered)
    assert new.ok and new.replaced_by is None and new.status == "valid"
    # a report is restated once; the next correction restates the restatement
    service.record_delivery(metered, carbon_park, "GPT-TEST", PERIOD, D("20"), "period", "second settlement")
    with pytest.raises(DocumentError, match=f"already replaced by {restated.content_sha256}"):
        service.issue_report(
            metered, carbon_park, PERIOD.start, PERIOD.end, refused, replaces=first.content_sha256, pdf=False
        )
    assert not refused.exists() or not any(refused.iterdir())


def test_every_entry_field_is_chained_and_csv_pdf_verify(metered: Store, carbon_park: Park, tmp_path: Path) -> None:
    issued = service.issue_report(metered, carbon_park, PERIOD.start, PERIOD.end, tmp_path)
    chain_file = tmp_path / "hash_chain.jsonl"
    for fmt in ("json", "csv", "pdf"):
        v = service.verify_report_file(issued.files[fmt], chain_file=chain_file)
        assert v.ok and v.fmt == fmt and v.content_sha256 == issued.content_sha256, v.problems
        # the recorded file hash is the sha256 of the bytes on disk (hashlib, not the chain module)
        assert issued.entry["files"][fmt].endswith(hashlib.sha256(issued.files[fmt].read_bytes()).hexdigest())

    # one byte of the CSV changed: no issued file has that hash
    csv = issued.files["csv"].read_bytes()
    bad_csv = tmp_path / "bad.csv"
    assert b",200.000," in csv  # 800 kW x 0.25 h of grid import in the first row
    bad_csv.write_bytes(csv.replace(b",200.000,", b",200.001,", 1))
    assert not service.verify_report_file(bad_csv, chain_file=chain_file).ok

    # software_version altered in the exported chain: the entry no longer matches its hash
    entries = read_chain_file(chain_file)
    assert entries[0]["hash_rule"] == 2
    entries[0]["software_version"] = entries[0]["software_version"] + "x"
    forged = tmp_path / "forged.jsonl"
    forged.write_text("\n".join(chain_rules.canonical_json(e).decode() for e in entries) + "\n", encoding="utf-8")
    v = service.verify_report_file(issued.files["json"], chain_file=forged)
    assert not v.ok and "chain hash does not match its fields" in v.problems[0]


def test_signed_chain_and_tampered_signature(metered: Store, carbon_park: Park, tmp_path: Path) -> None:
    signer = signer_from_pem(generate_pem(), "test key")
    issued = service.issue_report(metered, carbon_park, PERIOD.start, PERIOD.end, tmp_path, pdf=False, signer=signer)
    report = _report(issued.files["json"])
    assert report["signature"]["public_key"] == signer.public_key_hex == issued.entry["public_key"]
    trusted = frozenset({signer.public_key_hex})
    assert service.verify_report_file(issued.files["json"], store=metered, trusted_keys=trusted).ok
    chain_file = tmp_path / "hash_chain.jsonl"
    entries = read_chain_file(chain_file)
    sig = entries[0]["signature"]
    entries[0]["signature"] = sig[:-2] + ("00" if sig[-2:] != "00" else "01")
    forged = tmp_path / "forged.jsonl"
    forged.write_text("\n".join(chain_rules.canonical_json(e).decode() for e in entries) + "\n", encoding="utf-8")
    v = service.verify_report_file(issued.files["json"], chain_file=forged)
    assert not v.ok and "Ed25519 signature does not verify" in v.problems[0]
    # a chain re-signed with another key verifies by itself but not against the park's key
    other = signer_from_pem(generate_pem(), "other key")
    assert not service.verify_report_file(
        issued.files["json"], store=metered, trusted_keys=frozenset({other.public_key_hex})
    ).ok


def test_future_and_empty_periods_are_refused_unless_allowed(metered: Store, carbon_park: Park, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    # metered until T0 + 4 h; "now" is T0 + 3 h, so the period is not over
    with pytest.raises(DocumentError, match="not over"):
        service.issue_report(metered, carbon_park, PERIOD.start, PERIOD.end, out, pdf=False, now=T0 + 3 * HOUR)
    # a day later, with no data at all: mean completeness 0
    empty = (T0 + dt.timedelta(days=1), T0 + dt.timedelta(days=1, hours=2))
    with pytest.raises(DocumentError, match=r"completeness is 0\.000000"):
        service.issue_report(metered, carbon_park, *empty, out, pdf=False)
    assert not out.exists()
    issued = service.issue_report(metered, carbon_park, *empty, out, pdf=False, allow_incomplete=True)
    dq = _report(issued.files["json"])["data_quality"]
    assert dq["issued_incomplete"] is True and "completeness is 0.000000" in dq["completeness_problems"][0]
    # file names carry park-time days: T0 + 1 day is 2026-03-03 00:00 in Shanghai (2026-03-02 16:00 UTC)
    assert issued.files["json"].name.startswith("tiny-test-park_2026-03-03_2026-03-03_")


def test_certificate_vintage_and_attributes(metered: Store, carbon_park: Park) -> None:
    old = CQ.CertificateRow(
        "GEC-OLD-2019", "Old wind farm", "wind", "Yancheng, Jiangsu", dt.date(2019, 1, 1), dt.date(2019, 12, 31), "NEA"
    )
    hydro = CQ.CertificateRow(
        "GEC-HYDRO-1", "Hydro plant", "hydro", "Yichang, Hubei", dt.date(2026, 1, 1), dt.date(2026, 1, 31), "NEA"
    )
    with metered.connection() as conn:
        CQ.register_certificates(conn, [old, hydro])
    # consumption on 2026-03-02 (park time): production must end on or after 2024-03-01 (24 months
    # before the period's month, GEC validity) and start before 2026-03-03
    with pytest.raises(IneligibleCertificate, match="on or after 2024-03-01 and start before 2026-03-03"):
        service.retire(metered, carbon_park, ["GEC-OLD-2019"], PERIOD, "Tiny park")
    strict = carbon_park.model_copy(
        update={
            "green": carbon_park.green.model_copy(
                update={
                    "certificate_rules": carbon_park.green.certificate_rules.model_copy(
                        update={"technologies": ["wind", "pv"], "locations": ["Yancheng"]}
                    )
                }
            )
        }
    )
    with pytest.raises(IneligibleCertificate, match="is hydro; the claim requires one of pv, wind"):
        service.retire(metered, strict, ["GEC-HYDRO-1"], PERIOD, "Tiny park")
    loose = strict.model_copy(
        update={
            "green": strict.green.model_copy(
                update={
                    "certificate_rules": strict.green.certificate_rules.model_copy(
                        update={"technologies": [], "vintage_months_before": 120}
                    )
                }
            )
        }
    )
    with pytest.raises(IneligibleCertificate, match="comes from Yichang, Hubei"):
        service.retire(metered, loose, ["GEC-HYDRO-1"], PERIOD, "Tiny park")
    # a ten-year window admits the 2019 certificate from Yancheng; nothing was written before
    assert service.effective_retirements(metered) == []
    entries = service.retire(metered, loose, ["GEC-OLD-2019"], PERIOD, "Tiny park")
    assert [e.serial for e in entries] == ["GEC-OLD-2019"]
    # a certificate produced after the consumption period is refused too
    with pytest.raises(IneligibleCertificate, match="outside the vintage window"):
        service.retire(
            metered, carbon_park, ["GEC-T-000001"], Period(T0 - dt.timedelta(days=100), T0 - dt.timedelta(days=90)), "x"
        )


def test_later_report_lists_restatements_its_opening_state_depends_on(
    metered: Store, carbon_park: Park, tmp_path: Path
) -> None:
    first_half, second_half = Period(T0, T0 + 2 * HOUR), Period(T0 + 2 * HOUR, T0 + 4 * HOUR)
    month1 = service.issue_report(metered, carbon_park, first_half.start, first_half.end, tmp_path, pdf=False)
    before = service.report_content(metered, carbon_park, second_half.start, second_half.end)
    assert before["storage_pool"]["opening_state_depends_on"] == []
    # the first half is restated after a late settlement; the second half's opening state was carried
    # from the start of the accounting span (first metered interval) through it, so it names the restatement
    service.record_delivery(metered, carbon_park, "GPT-TEST", first_half, D("10"), "period", "late")
    restated = service.issue_report(
        metered, carbon_park, first_half.start, first_half.end, tmp_path, pdf=False, replaces=month1.content_sha256
    )
    after = service.report_content(metered, carbon_park, second_half.start, second_half.end)
    assert after["storage_pool"]["opening_state_depends_on"] == [restated.content_sha256]
    assert after["storage_pool"]["empty_at"] == "2026-03-02T00:00:00+08:00"  # the first metered interval
    # the restated period itself does not list its own restatement (it is not before its start)
    again = service.report_content(metered, carbon_park, first_half.start, first_half.end)
    assert again["storage_pool"]["opening_state_depends_on"] == []
