"""Carbon accounting speed: the annual report and a month of hourly park emission factors.

    python benchmarks/carbon.py [--quick]

Park: the demo park with its five loads replaced by 192 metered loads, i.e. 200 metered
devices (grid meter, 4 PV, wind, battery, direct-green meter, 192 loads). Data: a year of
15-minute interval energy from the project's profiles (clear-sky PV with clouds, wind
power curve, load shapes), a battery charging at night and discharging in the evening,
0.1 % of device-intervals missing.

1. Annual report, beyond the database query: gap filling, accounting, storage ledger,
   matching, indicators, report content, canonical JSON + SHA-256, CSV (target <= 2 s),
   and the PDF separately. Baseline measured in the same run: the obvious per-interval
   Decimal loop over all device rows (location + market + storage pool only), on one
   month and scaled x12 in --quick, on the whole year otherwise.
2. Hourly factor series for a month through the store (``service.factor_series``, what
   ``GET /v1/carbon/factors`` serves): a month of 2-minute power samples is ingested for
   the boundary meters (--quick) or all 200 devices, then the call is timed (median of 5)
   next to the bare ``Store.interval_energy`` query it makes. This part runs on each
   backend the machine has (plain PostgreSQL, and TimescaleDB once built), side by side,
   keys prefixed with the backend's name. Part 1 reads no database, so it runs once.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import backends, database_url, emit
from ems import synthetic
from ems.carbon import service
from ems.carbon.factors import FactorRegistry
from ems.carbon.flows import boundary_of
from ems.carbon.pdf import render_pdf
from ems.carbon.report import build_report, intervals_csv
from ems.carbon.run import compute_run
from ems.documents import chain as hashchain
from ems.park import Park, example_park_path, parse_park
from ems.parktime import local_hours
from ems.profiles import clear_sky_index, wind_speed_series
from ems.store import Store
from ems.telemetry import ReadingBatch, to_us

START = dt.datetime(2025, 12, 31, 16, 0, tzinfo=dt.UTC)  # 2026-01-01 00:00 Asia/Shanghai
CATEGORIES = ["battery_cells", "chemical_fibre", "textile", "ev_charging", "office", "generic"]


def bench_park() -> Park:
    data: dict[str, Any] = yaml.safe_load(example_park_path("demo").read_text(encoding="utf-8"))
    data["devices"] = [d for d in data["devices"] if d["type"] != "load"]
    for i in range(192):
        data["devices"].append(
            {
                "id": f"LOAD{i:03d}",
                "type": "load",
                "bus": "F3_CHEM",
                "p_peak_kw": 265,
                "category": CATEGORIES[i % len(CATEGORIES)],
                "connection": {"kind": "gateway", "gateway_id": "gw-b"},
            }
        )
    data["tenants"], data["shared_meters"] = [], []
    for d in data["devices"]:
        d.pop("tenant", None)
    return parse_park(data, "<demo park with 192 loads>")


def power_profiles(park: Park, starts: np.ndarray, step_min: int) -> dict[str, np.ndarray]:
    """Power per device [kW, generator sign convention] at the given instants."""
    rng = np.random.default_rng(42)
    n = len(starts)
    kt = clear_sky_index(n, rng, 0.3, step_min)
    w = synthetic.weather(park.location, starts, kt, wind_speed_series(starts, rng, 7.0, step_min, park.tz))
    p: dict[str, np.ndarray] = {}
    for d in park.devices_of("pv"):
        p[d.id] = synthetic.pv_output_kw(d, w.ghi_w_m2)
    for d in park.devices_of("wind"):
        p[d.id] = synthetic.wind_output_kw(d, w.wind_speed_m_s)
    (direct,) = park.green.direct_connections
    p["M_DIRECT"] = synthetic.direct_output_kw(direct, w)
    loads = np.zeros(n)
    for d in park.devices_of("load"):
        p[d.id] = -synthetic.load_output_kw(d, starts, park.tz, rng)
        loads -= p[d.id]
    local_h = np.floor(local_hours(starts, park.tz))
    bess = np.where(
        local_h < 6,
        -6000.0,
        np.where((local_h >= 17) & (local_h < 22), 6000.0 * 0.95 * 0.95 * 0.99 * 6 / 5, 0.0),
    )
    p["BESS"] = bess
    net = loads - sum(p[d.id] for d in park.devices_of("pv")) - p["WIND"] - p["M_DIRECT"] - bess
    p["M_GRID"] = net  # import positive; negative = export
    return p


@dataclass(frozen=True)
class Energy:
    starts: np.ndarray
    devices: list[str]
    e_out_kwh: np.ndarray
    e_in_kwh: np.ndarray
    coverage: np.ndarray


def year_energy(park: Park, days: int) -> Energy:
    n = days * 96
    starts = np.datetime64(START.replace(tzinfo=None), "us") + np.arange(n) * np.timedelta64(15, "m")
    mid = starts + np.timedelta64(450, "s")
    prof = power_profiles(park, mid, 15)
    devices = [d.id for d in park.devices]
    p = np.array([prof[d] for d in devices])
    cov = np.ones_like(p)
    rng = np.random.default_rng(7)
    cov[rng.random(p.shape) < 0.001] = 0.0
    return Energy(starts, devices, np.maximum(p, 0) * 0.25 * cov, np.maximum(-p, 0) * 0.25 * cov, cov)


def baseline_decimal(park: Park, ie: Energy, n: int) -> float:
    """Obvious implementation: per interval, Decimal sums over device rows, both methods, storage pool."""
    b = boundary_of(park)
    row = {d: i for i, d in enumerate(ie.devices)}
    ef_grid, ef_res = Decimal("0.5978"), Decimal("0.6096")
    eta = Decimal("0.95")
    pool_e = pool_c = Decimal(0)
    tot_loc = tot_mkt = tot_k = Decimal(0)
    t0 = time.perf_counter()
    for t in range(n):
        imp = Decimal(repr(float(ie.e_out_kwh[row[b.grid_meter], t])))
        exp = Decimal(repr(float(ie.e_in_kwh[row[b.grid_meter], t])))
        gen = sum((Decimal(repr(float(ie.e_out_kwh[row[d], t]))) for d in b.generators), Decimal(0))
        direct = sum((Decimal(repr(float(ie.e_out_kwh[row[d], t]))) for d in b.green_meters), Decimal(0))
        ch = sum((Decimal(repr(float(ie.e_in_kwh[row[d], t]))) for d in b.batteries), Decimal(0))
        dis = sum((Decimal(repr(float(ie.e_out_kwh[row[d], t]))) for d in b.batteries), Decimal(0))
        loads = sum((Decimal(repr(float(ie.e_in_kwh[row[d], t]))) for d in b.loads), Decimal(0))
        k = imp + gen + direct + dis - ch - exp
        grid_ch = max(Decimal(0), ch - max(Decimal(0), gen + direct - loads))
        pool_e += ch * eta
        pool_c += grid_ch * ef_grid
        out_c = Decimal(0)
        if dis > 0 and pool_e > 0:
            share = min(Decimal(1), dis / eta / pool_e)
            out_c = pool_c * share
            pool_c -= out_c
            pool_e -= pool_e * share
        tot_loc += (imp - grid_ch) * ef_grid + out_c
        tot_mkt += imp * ef_res
        tot_k += k
    return time.perf_counter() - t0


def bench_report(park: Park, quick: bool) -> dict[str, float]:
    t0 = time.perf_counter()
    ie = year_energy(park, 365)
    print(
        f"synthetic year: {len(ie.devices)} devices x {ie.e_out_kwh.shape[1]} intervals "
        f"({time.perf_counter() - t0:.1f} s to generate)"
    )
    reg = FactorRegistry.published()
    start, end = START, START + dt.timedelta(days=365)
    times: dict[str, float] = {}
    t = time.perf_counter()
    run = compute_run(park, ie, start, end, reg)
    times["account_s"] = time.perf_counter() - t
    t = time.perf_counter()
    content = build_report(run, software_version="bench")
    times["build_s"] = time.perf_counter() - t
    t = time.perf_counter()
    data, h = hashchain.report_file_bytes(content)
    times["json_hash_s"] = time.perf_counter() - t
    t = time.perf_counter()
    csv_bytes = intervals_csv(content)
    times["csv_s"] = time.perf_counter() - t
    report_s = sum(times.values())
    t = time.perf_counter()
    pdf = render_pdf(content)
    pdf_s = time.perf_counter() - t
    print(
        f"annual report: account {times['account_s']:.3f} s, content {times['build_s']:.3f} s, "
        f"JSON+hash {times['json_hash_s']:.3f} s, CSV {times['csv_s']:.3f} s → {report_s:.3f} s "
        f"(target <= 2 s); PDF {pdf_s:.3f} s"
    )
    print(
        f"  JSON {len(data) / 1e6:.1f} MB, CSV {len(csv_bytes) / 1e6:.1f} MB, PDF {len(pdf) / 1e3:.0f} kB, "
        f"sha256 {h[:16]}…; market factor {content['market_based']['park_factor_kg_per_kwh']} kg/kWh, "
        f"CFE {content['matching']['cfe_score']}"
    )
    again, h2 = hashchain.report_file_bytes(
        build_report(compute_run(park, ie, start, end, reg), software_version="bench")
    )
    assert again == data and h2 == h, "report not reproducible"
    n_base = 96 * 31 if quick else ie.e_out_kwh.shape[1]
    base = baseline_decimal(park, ie, n_base) * (ie.e_out_kwh.shape[1] / n_base)
    print(
        f"baseline (per-interval Decimal loop{', 1 month x12' if quick else ''}): {base:.2f} s for the year "
        f"(and it computes far less) → ratio {base / report_s:.1f}x"
    )
    return {
        "annual_report_s": report_s,
        "annual_report_pdf_s": pdf_s,
        "baseline_decimal_loop_s": base,
        "ratio_vs_baseline": base / report_s,
    }


def ingest_month(store: Store, park: Park, devices: list[str], days: int) -> tuple[int, float]:
    step_s = 120  # equals the store's sample-and-hold limit, so each interval is fully covered
    n = days * 86400 // step_s
    t_us = to_us(START) + np.arange(n, dtype=np.int64) * step_s * 1_000_000
    prof = power_profiles(park, t_us.astype("datetime64[us]"), step_s // 60)
    rows = 0
    t0 = time.perf_counter()
    for chunk in range(0, len(devices), 20):
        devs = devices[chunk : chunk + 20]
        batch = ReadingBatch(
            np.tile(t_us, len(devs)),
            np.repeat(np.array(devs, dtype=object), n),
            np.full(n * len(devs), "p_kw", dtype=object),
            np.concatenate([prof[d] for d in devs]),
            np.zeros(n * len(devs), np.int16),
        )
        res = store.ingest(batch, now=START + dt.timedelta(days=400))
        assert not res.rejected, res.rejected[:3]
        rows += len(batch)
    store.refresh_rollups()
    return rows, time.perf_counter() - t0


def bench_series(park: Park, quick: bool, backend: str) -> dict[str, float]:
    days = 31
    b = boundary_of(park)
    devices = b.boundary_devices if quick else b.all_devices
    with database_url(backend) as url:
        with psycopg.connect(url, autocommit=True) as c:
            c.execute("DROP DATABASE IF EXISTS ems_bench_carbon WITH (FORCE)")
            c.execute("CREATE DATABASE ems_bench_carbon")
        db = psycopg.conninfo.make_conninfo(url, dbname="ems_bench_carbon")
        with Store.connect(db, park) as store:
            assert store.backend is not None
            name = store.backend.name
            rows, ingest_s = ingest_month(store, park, devices, days)
            print(
                f"[{name}] month in the store: {rows:,} samples of {len(devices)} devices ingested + rolled up in "
                f"{ingest_s:.1f} s"
            )
            end = START + dt.timedelta(days=days)
            registry = service.load_registry(store)
            q, s, r = [], [], []
            for _ in range(5):
                t = time.perf_counter()
                store.interval_energy(START, end, b.boundary_devices)
                q.append(time.perf_counter() - t)
                t = time.perf_counter()
                pts = service.factor_series(store, park, START, end, "hour", "market", registry)
                s.append(time.perf_counter() - t)
                t = time.perf_counter()
                service.factor_series(store, park, START, end, "hour", "market")
                r.append(time.perf_counter() - t)
            assert len(pts) == days * 24
        with psycopg.connect(url, autocommit=True) as c:
            c.execute("DROP DATABASE IF EXISTS ems_bench_carbon WITH (FORCE)")
    query, series, series_reg = statistics.median(q), statistics.median(s), statistics.median(r)
    print(
        f"[{name}] hourly factors for a month ({len(pts)} points): {series * 1000:.1f} ms with a cached registry, "
        f"{series_reg * 1000:.1f} ms loading it; of which the rollup query {query * 1000:.1f} ms "
        f"(target < 50 ms at the API)"
    )
    figures = {
        "month_ingest_and_rollup_s": ingest_s,
        "month_hourly_series_ms": series * 1000,
        "month_hourly_series_with_registry_ms": series_reg * 1000,
        "month_rollup_query_ms": query * 1000,
        "month_series_compute_ms": (series - query) * 1000,
    }
    return {f"{name}_{k}": v for k, v in figures.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller baseline sample and boundary meters only in the DB")
    args = ap.parse_args()
    park = bench_park()
    figures = bench_report(park, args.quick)
    for backend in backends():
        figures.update(bench_series(park, args.quick, backend))
    emit({k: round(v, 4) for k, v in figures.items()})


if __name__ == "__main__":
    main()
