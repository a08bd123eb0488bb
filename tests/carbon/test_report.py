"""Reports without the database: flows from interval energy, gap flags, reproducibility, tamper detection."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal as D

import numpy as np
import pytest

from ems.carbon.certificates import Period, RetirementEntry
from ems.carbon.factors import FactorRegistry
from ems.carbon.flows import flows_from_energy
from ems.carbon.pdf import render_pdf
from ems.carbon.report import build_report, intervals_csv
from ems.carbon.run import compute_run
from ems.documents import chain as hashchain
from ems.park import Park
from tests.carbon.conftest import T0, energy_from_kw

# tiny park, four 15-minute intervals; import 400 kW, then PV, then a mix
P_KW = {
    "M_GRID": [400.0, 0.0, 200.0, 320.0],
    "PV1": [0.0, 300.0, 100.0, 0.0],
    "WT1": [0.0, 20.0, 0.0, 0.0],
    "BESS1": [-160.0, 80.0, 0.0, 0.0],
    "LOAD1": [-240.0, -400.0, -300.0, -320.0],
}


def _run(park: Park, coverage=None, retirements=()):  # type: ignore[no-untyped-def]
    ie = energy_from_kw(T0, 15, P_KW, coverage)
    return compute_run(park, ie, T0, T0 + dt.timedelta(hours=1), FactorRegistry.published(), [], list(retirements))


def test_flows_follow_sign_convention(carbon_park: Park) -> None:
    flows, fills = flows_from_energy(carbon_park, energy_from_kw(T0, 15, P_KW))
    # kW * 0.25 h: grid import 100, 0, 50, 80; PV + wind 0, 80, 25, 0; charge 40 then discharge 20
    assert flows.grid_import_kwh.tolist() == [100.0, 0.0, 50.0, 80.0]
    assert flows.local_re_kwh.tolist() == [0.0, 80.0, 25.0, 0.0]
    assert flows.charge_kwh.tolist() == [40.0, 0.0, 0.0, 0.0]
    assert flows.discharge_kwh.tolist() == [0.0, 20.0, 0.0, 0.0]
    assert flows.load_metered_kwh.tolist() == [60.0, 100.0, 75.0, 80.0]
    assert flows.completeness.tolist() == [1.0] * 4 and not flows.estimated.any()
    assert fills.all_flags() == [""] * 4


def test_gaps_lower_completeness_and_are_flagged(carbon_park: Park) -> None:
    # PV1 covered half of interval 1 (energy measured over that half only); WT1 silent in interval 2
    cov = {"PV1": [1.0, 0.5, 1.0, 1.0], "WT1": [1.0, 1.0, 0.0, 1.0]}
    flows, fills = flows_from_energy(carbon_park, energy_from_kw(T0, 15, P_KW, cov))
    # boundary devices: M_GRID, PV1, WT1, BESS1 → mean coverage (1 + 0.5 + 1 + 1) / 4 and (1 + 1 + 0 + 1) / 4
    assert flows.completeness.tolist() == [1.0, 0.875, 0.75, 1.0]
    assert flows.estimated.tolist() == [False, True, True, False]
    # scaled: 37.5 kWh measured over half the interval → 75; interpolated WT1: between 5 and 0 → 2.5
    assert flows.local_re_kwh[1] == pytest.approx(75.0 + 5.0)
    assert flows.local_re_kwh[2] == pytest.approx(25.0 + 2.5)
    assert fills.all_flags() == ["", "PV1:scaled", "WT1:interpolated", ""]


def test_grid_meter_gap_filled_from_balance_when_others_complete(carbon_park: Park) -> None:
    cov = {"M_GRID": [1.0, 1.0, 1.0, 0.0]}
    flows, fills = flows_from_energy(carbon_park, energy_from_kw(T0, 15, P_KW, cov))
    # loads 80 + charge 0 - generation 0 - discharge 0 = 80 kWh import
    assert flows.grid_import_kwh[3] == pytest.approx(80.0)
    assert fills.flags(3) == "M_GRID:balance"
    assert flows.completeness[3] == 0.75


def test_report_is_reproducible_and_has_no_floats(carbon_park: Park) -> None:
    r1 = build_report(_run(carbon_park), software_version="0.1.0")
    r2 = build_report(_run(carbon_park), software_version="0.1.0")
    b1, h1 = hashchain.report_file_bytes(r1)
    b2, h2 = hashchain.report_file_bytes(r2)
    assert b1 == b2 and h1 == h2
    # location-based Scope 2: (100 + 0 + 50 + 80) kWh * 0.5978 = 137.494 kg
    assert r1["location_based"]["scope2_emissions_kg"] == str((D(230) * D("0.5978")).quantize(D("0.001")))
    assert r1["factors"]["grid"]["id"] == "cn-jiangsu-2022@v1"
    assert r1["factors"]["residual"]["value"] == "0.6096"
    # totals equal the sum of the printed interval rows
    assert sum(D(x) for x in r1["intervals"]["location_scope2_kg"]) == D(r1["totals"]["location_scope2_kg"])
    with pytest.raises(TypeError, match="float"):
        hashchain.canonical_json({"x": 0.1})


def test_report_cites_certificate_evidence(carbon_park: Park) -> None:
    period = Period(T0, T0 + dt.timedelta(hours=1))
    ret = RetirementEntry(7, "GEC-T-000001", 1, "retire", period, D("230"), "park", "")
    r = build_report(_run(carbon_park, retirements=[ret]), software_version="0.1.0")
    ev = r["evidence"]["certificate_retirements"]
    assert ev[0]["serials"] == ["GEC-T-000001"] and ev[0]["event_ids"] == [7]
    # 1 MWh against 230 kWh of import: only 230 kWh can be claimed, 770 kWh flagged unallocated
    assert ev[0]["allocated_in_report_kwh"] == "230.000" and ev[0]["unallocated_kwh"] == "770.000"
    assert r["market_based"]["scope2_emissions_kg"] == "0.000"


def test_tampered_report_fails_verification(carbon_park: Park) -> None:
    content = build_report(_run(carbon_park), software_version="0.1.0")
    data, h = hashchain.report_file_bytes(content)
    entry = hashchain.new_entry(None, h, carbon_park.name, "a", "b", None, "2026-03-03T00:00:00+00:00", "0.1.0", {})
    assert hashchain.verify_report(data, [entry]).ok
    doc = json.loads(data)
    doc["report"]["location_based"]["park_factor_kg_per_kwh"] = "0.100000"
    tampered = hashchain.canonical_json(doc)
    v = hashchain.verify_report(tampered, [entry])
    assert not v.ok and "changed after it was issued" in v.problems[0]
    # recomputing the stated hash does not help: the chain has no such report
    doc["content_sha256"] = hashchain.content_hash(doc["report"])
    v = hashchain.verify_report(hashchain.canonical_json(doc), [entry])
    assert not v.ok and any("no issued report" in p for p in v.problems)
    # an altered chain entry breaks the chain
    bad = dict(entry, period_end="c")
    assert hashchain.verify_chain([bad]) == ["entry seq 1: chain hash does not match its fields (entry altered)"]


def test_csv_and_pdf(carbon_park: Park) -> None:
    content = build_report(_run(carbon_park), software_version="0.1.0")
    lines = intervals_csv(content).decode().splitlines()
    assert len(lines) == 5 and lines[0].startswith("start_utc,grid_import_kwh")
    assert lines[1].startswith("2026-03-01T16:00:00Z,100.000,")
    pdf = render_pdf(content)
    assert pdf.startswith(b"%PDF") and pdf == render_pdf(content)
    assert np.isclose(
        float(content["matching"]["cfe_score"]),
        float(content["totals"]["cfe_kwh"]) / float(content["totals"]["consumption_kwh"]),
        atol=1e-6,
    )


def test_report_file_bytes_are_canonical(carbon_park: Park) -> None:
    content = build_report(_run(carbon_park), software_version="0.1.0")
    data, h = hashchain.report_file_bytes(content)
    assert data == hashchain.canonical_json({"content_sha256": h, "report": content})
    assert h == hashchain.sha256_hex(hashchain.canonical_json(content))
