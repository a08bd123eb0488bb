"""Poller and MPC process metrics over a real HTTP exposition, read back with prometheus_client's own
text parser (issue 21: the processes exported nothing; the API's /metrics showed solve time 0)."""

from __future__ import annotations

import datetime as dt
import socket
import types

import httpx
from prometheus_client.parser import text_string_to_metric_families

from entrypoints.operate.process_metrics import MpcMetrics, PollerMetrics, serve


def _scrape(registry: object) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = serve(registry, port)  # type: ignore[arg-type]
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    finally:
        server.shutdown()
        server.server_close()
    return {
        (m.name, tuple(sorted(m.labels.items()))): m.value
        for fam in text_string_to_metric_families(text)
        for m in fam.samples
    }


def _step(status: str, solve_s: float, cycle_s: float) -> object:
    schedule = types.SimpleNamespace(status=status, solve_time_s=solve_s)
    return types.SimpleNamespace(schedule=schedule, seconds=cycle_s, start=dt.datetime(2026, 3, 2, tzinfo=dt.UTC))


def test_mpc_metrics() -> None:
    m = MpcMetrics(interval_s=900)
    for step in (_step("optimal", 0.4, 2.0), _step("fallback", 0.0, 3.0), _step("optimal", 0.5, 1000.0)):
        m.observe(step)  # type: ignore[arg-type]
    got = _scrape(m.registry)
    assert got[("ems_mpc_plans_total", (("status", "optimal"),))] == 2
    assert got[("ems_mpc_plans_total", (("status", "fallback"),))] == 1
    assert got[("ems_mpc_solve_seconds_sum", ())] == 0.4 + 0.0 + 0.5
    assert got[("ems_mpc_solve_seconds_count", ())] == 3
    assert got[("ems_mpc_fallbacks_total", ())] == 1
    assert got[("ems_mpc_cycle_overruns_total", ())] == 1  # 1000 s > one 15-min interval
    assert got[("ems_mpc_last_plan_timestamp_seconds", ())] == dt.datetime(2026, 3, 2, tzinfo=dt.UTC).timestamp()


def test_poller_metrics() -> None:
    m = PollerMetrics(period_s=1.0)
    m.observe(0.9, 12, [{"state": "ok"}, {"state": "ok"}, {"state": "offline"}])
    m.observe(2.0, 0, [{"state": "ok"}, {"state": "ok"}, {"state": "ok"}])
    got = _scrape(m.registry)
    assert got[("ems_poller_spool_readings", ())] == 0
    assert got[("ems_poller_cycle_overruns_total", ())] == 1  # 2.0 s > 1.5 x 1 s
    assert got[("ems_poller_devices", (("state", "ok"),))] == 3
    assert got[("ems_poller_devices", (("state", "offline"),))] == 0  # recovered: 0, not the last count
