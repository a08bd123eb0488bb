"""``ems demo``: the main job on the demo park.

Loads the park, starts the store (embedded PostgreSQL unless EMS_DATABASE_URL is
set), ingests a synthetic day of telemetry through the validated ingest path and
prints a summary computed from the store's rollups.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Annotated

import numpy as np
import typer
from tqdm import tqdm

from ems.cli.common import DataDirOption, ParkOption, load_park_or_exit, settings_from
from ems.park import Park
from ems.store import Store, open_store
from ems.synthetic import synthesize

app = typer.Typer(help="Run the demo park end to end.")


def _day_start(park: Park, day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=park.tz).astimezone(dt.UTC)


def ingest_synthetic_day(store: Store, park: Park, day: dt.date, step_s: float, seed: int,
                         chunk: int = 50_000) -> tuple[int, int, float]:
    """Ingest one synthetic day in chunks; returns (accepted, duplicates, seconds)."""
    syn = synthesize(park, _day_start(park, day), hours=24, step_s=step_s, seed=seed)
    batch = syn.batch
    accepted = duplicates = 0
    t0 = time.perf_counter()
    with tqdm(total=len(batch), unit="rows", desc="ingest", leave=False) as bar:
        for lo in range(0, len(batch), chunk):
            part = batch.take(np.arange(lo, min(lo + chunk, len(batch))))
            res = store.ingest(part, source="demo", now=_day_start(park, day) + dt.timedelta(days=1))
            accepted += res.accepted
            duplicates += res.duplicates
            bar.update(len(part))
    return accepted, duplicates, time.perf_counter() - t0


def print_summary(store: Store, park: Park, day: dt.date) -> None:
    start = _day_start(park, day)
    ie = store.interval_energy(start, start + dt.timedelta(days=1))
    by_type: dict[str, float] = {}
    for d in park.devices:
        i = ie.row(d.id)
        if d.type == "meter":
            continue
        net = float(ie.e_out_kwh[i].sum() - ie.e_in_kwh[i].sum())
        by_type[d.type] = by_type.get(d.type, 0.0) + net
    load = -by_type.get("load", 0.0)
    local_re = by_type.get("pv", 0.0) + by_type.get("wind", 0.0)
    gm = park.grid_meter
    imp = exp = peak = 0.0
    if gm:
        i = ie.row(gm.id)
        imp, exp = float(ie.e_out_kwh[i].sum()), float(ie.e_in_kwh[i].sum())
        peak = float(ie.e_out_kwh[i].max() * 60 / park.interval_minutes)
    reporting = ie.coverage.sum(axis=1) > 0
    coverage = float(ie.coverage[reporting].mean()) if reporting.any() else 0.0
    silent = [d for d, r in zip(ie.devices, reporting, strict=True) if not r]
    typer.echo(f"\n{park.name} — {day.isoformat()} ({park.timezone}), {len(ie.starts)} intervals of "
               f"{park.interval_minutes} min")
    typer.echo(f"  {int(reporting.sum())} of {len(ie.devices)} devices reporting, data coverage {coverage:.1%}"
               + (f"; no data from {', '.join(silent)}" if silent else ""))
    typer.echo(f"  consumption (loads)      {load / 1000:10.1f} MWh")
    typer.echo(f"  local PV + wind          {local_re / 1000:10.1f} MWh  ({local_re / max(load, 1e-9):.1%} of load)")
    typer.echo(f"  battery net discharge    {by_type.get('battery', 0.0) / 1000:10.1f} MWh")
    typer.echo(f"  grid import / export     {imp / 1000:10.1f} / {exp / 1000:.1f} MWh")
    typer.echo(f"  peak 15-min import       {peak / 1000:10.2f} MW (limit "
               f"{park.network.grid_connection.import_limit_kw / 1000:.0f} MW)")


@app.command()
def demo(
    park: ParkOption = None,
    data_dir: DataDirOption = None,
    day: Annotated[str, typer.Option(help="local date of the synthetic day (YYYY-MM-DD)")] = "2026-06-21",
    step_s: Annotated[float, typer.Option(help="seconds between synthetic readings")] = 10.0,
    seed: Annotated[int, typer.Option(help="random seed of the synthetic day")] = 1,
) -> None:
    """Load the park, start the store, ingest a synthetic day of telemetry and print a summary."""
    settings = settings_from(data_dir, park)
    p = load_park_or_exit(settings)
    the_day = dt.date.fromisoformat(day)
    where = "embedded PostgreSQL under " + str(settings.data_dir) if settings.database_url is None else "EMS_DATABASE_URL"
    typer.echo(f"park: {p.name} ({len(p.devices)} devices); store: {where}")
    with open_store(settings, p) as store:
        accepted, dups, secs = ingest_synthetic_day(store, p, the_day, step_s, seed)
        total = accepted + dups
        typer.echo(f"ingested {total:,} readings in {secs:.2f} s ({total / secs:,.0f} rows/s): "
                   f"{accepted:,} new, {dups:,} already stored")
        print_summary(store, p, the_day)
