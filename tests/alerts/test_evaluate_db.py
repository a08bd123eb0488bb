"""services.alerts over a real store: observations read from telemetry, alerts raised, kept, cleared."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

from ems.outbox import Receivers
from ems.park import Park
from ems.store import Store
from ems.store import alert_queries as AQ
from ems.telemetry import ReadingBatch
from entrypoints.operate.notifier import run_cycle, run_notifier
from services.alerts import evaluate_once, observe
from tests.outbox.receiver import Receiver

NOW = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)


def _ingest_hour(store: Store, end: dt.datetime, devices: dict[str, float]) -> None:
    rows = [(end - dt.timedelta(minutes=m), dev, "p_kw", p, 0) for dev, p in devices.items() for m in range(60, 0, -1)]
    assert not store.ingest(ReadingBatch.from_rows(rows), now=end).rejected


def test_gateway_goes_silent_and_comes_back(store: Store, tiny_park: Park) -> None:
    # every device of gw-tiny reported each minute of the last hour; the grid is far from its limits
    _ingest_hour(store, NOW, {"M_GRID": 100.0, "PV1": 50.0, "WT1": 10.0, "BESS1": 0.0, "LOAD1": -160.0})
    obs = observe(store, tiny_park, NOW)  # violations from an AC power flow of the latest readings
    assert all({"kind", "element", "value", "limit"} <= set(v) for v in obs.violations)
    assert obs.gateways == {"gw-tiny": ["M_GRID", "PV1", "WT1", "BESS1", "LOAD1"]}
    assert obs.last_seen["PV1"] == NOW - dt.timedelta(minutes=1)
    # last hour = 4 intervals, samples every minute from 01:00 to 01:59, each held until the next
    assert obs.coverage["PV1"] == 1.0
    first = evaluate_once(store, tiny_park, NOW, ["wecom"], violations=obs.violations)
    with store.connection() as conn:
        assert [a.rule for a in AQ.open_alerts(conn)] == ["grid_violation"] * len(obs.violations)
    # from here on a healthy grid: only health rules change
    assert len(evaluate_once(store, tiny_park, NOW, ["wecom"], violations=[]).cleared) == len(first.raised)

    later = NOW + dt.timedelta(hours=17)  # the gateway, silent for 17 h
    done = evaluate_once(store, tiny_park, later, ["wecom"], violations=[])
    with store.connection() as conn:
        raised = {(a.rule, a.subject) for a in AQ.open_alerts(conn)}
    assert ("gateway_silent", "gw-tiny") in raised and ("device_stale", "PV1") in raised
    assert not any(rule == "data_gap" for rule, _ in raised)  # stale devices are not also "gappy"
    assert len(done.raised) == len(raised) == 6  # the gateway and its five devices

    _ingest_hour(store, later, {"M_GRID": 100.0, "PV1": 50.0, "WT1": 10.0, "BESS1": 0.0, "LOAD1": -160.0})
    back = evaluate_once(store, tiny_park, later, ["wecom"], violations=[])
    assert sorted(back.cleared) == sorted(done.raised)


def test_notifier_cycle_raises_and_delivers(store: Store, tiny_park: Park) -> None:
    """entrypoints.operate.notifier: from telemetry to robot messages at a real receiver in one cycle."""
    rx = Receiver().start()
    try:
        rc = Receivers(wecom_url=rx.url("/send?key=K"))
        _ingest_hour(store, NOW, {"M_GRID": 100.0, "PV1": 50.0})  # WT1, BESS1, LOAD1 never report
        cycle = run_cycle(store, tiny_park, rc, NOW)
        # the loop itself (wall-clock now, where every reading is old) runs a cycle and stops
        assert asyncio.run(run_notifier(store, tiny_park, rc, 0.01, asyncio.Event(), cycles=1)) == 1
    finally:
        rx.stop()
    stale = {f"device {d}: never reported" for d in ("BESS1", "LOAD1", "WT1")}
    texts = [json.loads(r.body)["text"]["content"] for r in rx.received[: cycle.raised]]
    assert cycle.days_queued == 0 and len(cycle.delivery.delivered) == cycle.raised >= 3
    assert stale <= {t.split("\n")[1] for t in texts}
