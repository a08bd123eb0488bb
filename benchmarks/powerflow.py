"""Benchmark: a year of 15-minute AC power flows (35,040 steps) on the demo park.

Fast path: power-grid-model batch Newton-Raphson built from the pandapower net
(``grid_models.timeseries(..., fast=True)``), timed including the model conversion.
Baseline: ``pandapower.timeseries.run_timeseries`` with ``ConstControl`` profiles, timed
on a sample of the first steps and extrapolated linearly to the year (said in the output).
The sample's results are compared with the fast path's for the same steps.
Also timed: the whole-year ``check_period`` (``ems grid check``, OLTC control included when
the park has one) and the hosting-capacity bisection of one bus (``ems grid hosting``),
against the same search solving every interval at every step (no screening).

    python benchmarks/powerflow.py [--quick]

``--quick`` shortens the pandapower sample (the fast path still runs the full year).
Ends with one JSON line of figures.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from pandapower.control import ConstControl
from pandapower.timeseries import DFData, OutputWriter, run_timeseries

# run as a script from anywhere: the repository root holds the packages
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import emit
from ems.park import example_park_path, load_park
from grid_models import (
    ParkNetwork,
    build_network,
    check_period,
    cigre_mv_park,
    hosting_capacity,
    timeseries,
    year_profiles,
)
from grid_models.network import INJECTION_SIGN, PF_OPTIONS
from grid_models.powerflow import prepare_injections


def time_fast(pn: ParkNetwork, ids: list[str], p: np.ndarray) -> tuple[float, float]:
    """(seconds including the pgm model build, seconds of the batch run alone)."""
    pn._cache.clear()
    t0 = time.perf_counter()
    timeseries(pn, ids, p[:1])  # builds and caches the model
    t1 = time.perf_counter()
    res = timeseries(pn, ids, p)
    t2 = time.perf_counter()
    assert res.converged.all()
    return t2 - t0, t2 - t1


def run_pandapower_timeseries(
    pn: ParkNetwork, ids: list[str], p: np.ndarray
) -> tuple[float, pd.DataFrame, pd.DataFrame]:
    """run_timeseries over the rows of ``p``: (seconds, vm_pu frame, line loading frame)."""
    net = copy.deepcopy(pn.net)
    p_kw, q_kvar = prepare_injections(pn, ids, p)
    frames = {}
    for table, sign in INJECTION_SIGN.items():
        cols = [j for j, d in enumerate(ids) if pn.element(d)[0] == table]
        if not cols:
            continue
        idx = [pn.element(ids[j])[1] for j in cols]
        for var, values in (("p_mw", p_kw), ("q_mvar", q_kvar)):
            name = f"{table}_{var}"
            frames[name] = pd.DataFrame(sign * values[:, cols] / 1000, columns=[f"{name}_{i}" for i in idx])
            ConstControl(
                net,
                element=table,
                variable=var,
                element_index=idx,
                data_source=DFData(frames[name]),
                profile_name=list(frames[name].columns),
            )
    ow = OutputWriter(net, time_steps=range(len(p)), output_path=None)
    ow.log_variable("res_bus", "vm_pu")
    ow.log_variable("res_line", "loading_percent")
    t0 = time.perf_counter()
    run_timeseries(net, time_steps=range(len(p)), verbose=False, **PF_OPTIONS)
    elapsed = time.perf_counter() - t0
    return elapsed, ow.output["res_bus.vm_pu"], ow.output["res_line.loading_percent"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="shorter pandapower sample (fast path still a full year)")
    args = ap.parse_args()
    sample = 40 if args.quick else 400

    park = load_park(example_park_path("demo"))
    pn = build_network(park)
    prof = year_profiles(park, 2026, seed=0)
    steps = len(prof.times)
    ids, p = prof.device_ids, prof.p_kw
    # a plausible battery swing so that every device moves
    p = p.copy()
    p[:, ids.index("BESS")] = 15_000 * np.sin(np.arange(steps) * 2 * np.pi / 96)
    print(
        f"demo park: {len(pn.bus_ids)} buses, {len(pn.line_ids)} lines, {len(pn.trafo_ids)} trafos, "
        f"{len(ids)} devices; {steps} steps of 15 min"
    )

    fast_total, fast_run = time_fast(pn, ids, p)
    print(
        f"fast path (power-grid-model batch NR): {fast_total:.3f} s for {steps} steps "
        f"(batch {fast_run:.3f} s, {steps / fast_run:,.0f} steps/s)"
    )

    # pandapower logs a numba warning on every run; say it once here instead
    logging.getLogger("pandapower.auxiliary").setLevel(logging.ERROR)
    numba = importlib.util.find_spec("numba") is not None
    state = "installed: baseline uses it" if numba else "not installed: baseline runs without it"
    print(f"numba {state}")
    pp_s, vm_ref, ll_ref = run_pandapower_timeseries(pn, ids, p[:sample])
    per_step = pp_s / sample
    pp_year = per_step * steps
    print(
        f"pandapower run_timeseries: {pp_s:.2f} s for the first {sample} steps "
        f"= {per_step * 1e3:.1f} ms/step; "
        f"EXTRAPOLATED to {steps} steps: {pp_year:.0f} s"
    )
    ratio = pp_year / fast_total
    print(f"ratio (pandapower extrapolated / fast incl. build): {ratio:.0f}x")

    sample_fast = timeseries(pn, ids, p[:sample])
    dv = float(np.nanmax(np.abs(sample_fast.vm_pu - vm_ref.to_numpy())))
    dl = float(np.nanmax(np.abs(sample_fast.line_loading_percent - ll_ref.to_numpy())))
    print(f"agreement on the sample: max |dV| {dv:.2e} pu, max |d loading| {dl:.2e} pp")

    cigre = cigre_mv_park()
    cids = cigre.device_ids
    rng = np.random.default_rng(0)
    cbase = np.array([cigre.base_injection_kw(d)[0] for d in cids])
    cp = cbase[None, :] * rng.uniform(0, 1.5, (steps, len(cids)))
    cigre_total, _ = time_fast(cigre, cids, cp)
    print(
        f"CIGRE MV with DER ({len(cigre.bus_ids)} buses, {len(cids)} devices): fast path {cigre_total:.3f} s "
        f"for {steps} steps"
    )
    t0 = time.perf_counter()
    chk = check_period(pn, prof)
    check_s = time.perf_counter() - t0
    print(f"whole-year check (ems grid check): {check_s:.2f} s, {len(chk.violations)} violations")

    t0 = time.perf_counter()
    cap = hosting_capacity(pn, prof, "F5_EV", "pv", ignore=frozenset({"export_limit"}))
    cap_s = time.perf_counter() - t0
    per_run = fast_run  # a full-year batch on this machine, measured above
    unscreened = cap.runs * per_run
    print(
        f"hosting capacity F5_EV (PV, export limit ignored): {cap.capacity_kw:.0f} kW in {cap_s:.2f} s, "
        f"{cap.runs} runs solving {cap.intervals_solved} intervals; binding "
        f"{cap.binding.kind + ' ' + cap.binding.element if cap.binding else 'none'}; "
        f"without screening {cap.runs} full-year runs ≈ {unscreened:.1f} s (ratio {unscreened / cap_s:.1f}x)"
    )
    print(f"target: year < 10 s and >= 50x: {'met' if fast_total < 10 and ratio >= 50 else 'NOT met'}")
    emit(
        {
            "steps": steps,
            "fast_s": round(fast_total, 4),
            "fast_batch_s": round(fast_run, 4),
            "fast_steps_per_s": round(steps / fast_run),
            "pandapower_sample_steps": sample,
            "pandapower_ms_per_step": round(per_step * 1e3, 3),
            "pandapower_s_extrapolated": round(pp_year, 1),
            "pandapower_numba": numba,
            "ratio_vs_baseline": round(ratio, 1),
            "max_dv_pu": dv,
            "max_dloading_pp": dl,
            "cigre_fast_s": round(cigre_total, 4),
            "year_check_s": round(check_s, 3),
            "hosting_capacity_s": round(cap_s, 3),
            "hosting_capacity_kw": round(cap.capacity_kw, 1),
            "hosting_runs": cap.runs,
            "hosting_intervals_solved": cap.intervals_solved,
            "hosting_unscreened_s_estimated": round(unscreened, 2),
        }
    )


if __name__ == "__main__":
    main()
