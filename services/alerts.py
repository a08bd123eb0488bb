"""Gather the alert rules' observations from the store (and the grid model), evaluate, reconcile.

Lives in services because it combines the grid model (violations of the latest power flow) with
the core; :func:`evaluate_once` is what the notifier loop (``ems alerts run``) calls each cycle.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Any

import numpy as np

from ems.alerts.engine import Reconciled, reconcile
from ems.alerts.rules import Observations, Thresholds, evaluate
from ems.carbon import service as carbon
from ems.park import Park
from ems.store import Store
from ems.store import forecasts as FQ
from ems.store import schedules as SQ
from services.alert_cache import NotifierCache

LOOKBACK = dt.timedelta(hours=1)  # window of the data-gap rule (whole park intervals before now)
FORECAST_LOOKBACK = dt.timedelta(days=1)
FALLBACK_LOOKBACK = dt.timedelta(hours=6)


def _floor(t: dt.datetime, step: dt.timedelta) -> dt.datetime:
    epoch = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    return t - (t - epoch) % step


def grid_violations(store: Store, park: Park, cache: NotifierCache | None = None) -> list[dict[str, Any]]:
    """Violations of an AC power flow of the latest measured injections (as ``GET /v1/grid/status``)."""
    from grid_models import build_network, snapshot

    latest = {r.device: r.value for r in store.latest() if r.quantity == "p_kw"}
    pn = build_network(park) if cache is None else cache.network(park, build_network)
    res = snapshot(pn, {d: latest.get(d, 0.0) for d in pn.device_ids})
    return [
        {k: (x if not isinstance(x, float) or math.isfinite(x) else None) for k, x in dataclasses.asdict(v).items()}
        for v in res.violations
    ]


def year_budget(store: Store, park: Park, end: dt.datetime) -> dict[str, Any]:
    """The annual carbon budget status from 1 January (park time) to ``end``."""
    registry = carbon.load_registry(store)
    run = carbon.run_for(store, park, carbon.year_start(park, end), end, registry)
    return carbon.year_budget(store, park, run, registry).as_dict()


def observe(
    store: Store,
    park: Park,
    now: dt.datetime,
    violations: list[dict[str, Any]] | None = None,
    cache: NotifierCache | None = None,
) -> Observations:
    """Everything the rules look at, as of ``now``. ``violations``: from a running service, else computed;
    ``cache``: what a loop keeps between cycles (the network and the year-to-date budget)."""
    devices = list(park.devices)
    last: dict[str, dt.datetime | None] = {d.id: None for d in devices}
    for r in store.latest():
        if r.device in last:
            seen = last[r.device]
            last[r.device] = r.time if seen is None else max(seen, r.time)
    gateways: dict[str, list[str]] = {}
    for d in devices:
        if d.connection.kind == "gateway":
            gateways.setdefault(d.connection.gateway_id, []).append(d.id)
    end = _floor(now, park.interval)
    ie = store.interval_energy(end - LOOKBACK, end, [d.id for d in devices])
    coverage = {dev: float(np.mean(ie.coverage[i])) for i, dev in enumerate(ie.devices)}
    rated = {d.id: float(getattr(d, "p_rated_kw", 0.0) or 0.0) for d in devices}
    with store.connection() as conn:
        acc = FQ.accuracy_summary(conn, since=now - FORECAST_LOOKBACK)
        schedules = SQ.list_schedules(conn, limit=100)
    nmae = {f"{a.series}/{a.method}": a.mae / rated[a.series] for a in acc if rated.get(a.series, 0.0) > 0}
    fallbacks = [s for s in schedules if s["status"] == "fallback" and s["created_at"] >= now - FALLBACK_LOOKBACK]
    budget = None
    if park.carbon.annual_budget_tco2 > 0:
        if cache is None:
            budget = year_budget(store, park, end)
        else:
            budget = cache.budget(store, park, end, lambda: year_budget(store, park, end))
    return Observations(
        now=now,
        last_seen=last,
        gateways=gateways,
        coverage=coverage,
        forecast_nmae=nmae,
        violations=grid_violations(store, park, cache) if violations is None else violations,
        budget=budget,
        fallbacks=[{k: s[k] for k in ("schedule_id", "kind", "fallback_reason")} for s in fallbacks],
    )


def evaluate_once(
    store: Store,
    park: Park,
    now: dt.datetime,
    channels: list[str],
    thresholds: Thresholds | None = None,
    violations: list[dict[str, Any]] | None = None,
    cache: NotifierCache | None = None,
) -> Reconciled:
    """One evaluation cycle: observe, run every rule, reconcile the alert table and queue new alerts."""
    obs = observe(store, park, now, violations, cache)
    return reconcile(store, evaluate(obs, thresholds or Thresholds()), now, channels)
