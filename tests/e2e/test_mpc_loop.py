"""``ems mpc``'s loop against the park simulator: plans from the store's history and the polled SOC,
saves each schedule, writes the battery setpoint over Modbus, and the simulated battery follows."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from device_drivers import Poller
from device_drivers.simulator import ParkSimulator, with_free_ports
from ems.park import Park
from ems.store import Store
from ems.store.schedules import load_schedule
from entrypoints.operate.clock import interval_start, next_boundary
from entrypoints.operate.mpc_loop import run_mpc
from entrypoints.operate.planner import PlanStep
from entrypoints.operate.plant import backfill_history

SPEED = 600.0


def test_interval_boundaries() -> None:
    t = dt.datetime(2026, 5, 1, 7, 50, 30, tzinfo=dt.UTC)
    # by hand: 07:50:30 lies in the 15-min interval 07:45-08:00
    assert interval_start(t, 15) == dt.datetime(2026, 5, 1, 7, 45, tzinfo=dt.UTC)
    assert next_boundary(t, 15) == dt.datetime(2026, 5, 1, 8, 0, tzinfo=dt.UTC)
    on = dt.datetime(2026, 5, 1, 8, 0, tzinfo=dt.UTC)
    assert interval_start(on, 15) == on == next_boundary(on, 15)


def test_mpc_loop_plans_and_actuates(fresh_db_url: str, demo_park: Park) -> None:
    park = with_free_ports(demo_park)
    # yesterday 07:50 Beijing time: the first plan is for 07:45 (current interval), the second for 08:00 (peak)
    day = dt.datetime.now(park.tz).date() - dt.timedelta(days=1)
    start = dt.datetime.combine(day, dt.time(7, 50), tzinfo=park.tz).astimezone(dt.UTC)
    steps: list[PlanStep] = []

    async def go(store: Store) -> tuple[float, float]:
        async with ParkSimulator(park, seed=5, speed=SPEED, start=start) as sim:
            poller = Poller.from_park(
                park, sink=store, interval_s=60 / SPEED, clock=sim.clock.now, flush_interval_s=0.2
            )
            await poller.start()
            try:
                await asyncio.sleep(0.5)  # a few polls, so the SOC is measured
                made = await run_mpc(
                    park,
                    store,
                    clock=sim.clock.now,
                    speed=SPEED,
                    steps=2,
                    horizon=32,
                    history_days=1,
                    on_step=lambda s, a: steps.append(s),
                )
                assert made == 2
            finally:
                await poller.stop()
            bess = sim.models["BESS"].battery
            assert bess is not None
            return bess.setpoint_kw, bess.p_kw

    store = Store.connect(fresh_db_url, demo_park)
    try:
        backfill_history(demo_park, store, start - dt.timedelta(days=1), start, seed=9)
        setpoint, p = asyncio.run(go(store))
        # under load the simulated clock may cross a boundary before the first plan: accept the first
        # plan for 07:45, 08:00 or 08:15, but the two plans must be for consecutive intervals
        q = dt.timedelta(minutes=15)
        first = steps[0].start
        assert first in [interval_start(start, 15) + k * q for k in range(3)]
        second = first + q
        assert [s.start for s in steps] == [first, second]
        with store.connection() as conn:
            saved = [load_schedule(conn, "mpc", t) for t in (first, second)]
    finally:
        store.close()
    assert [s.schedule_id for s in saved] == [s.schedule_id for s in steps]
    # the SOC came from the poller's telemetry: the simulated battery starts at the park file's 50 %
    assert steps[0].soc0["BESS"] == pytest.approx(0.5, abs=0.01)
    planned = saved[1].devices[0]["BESS"]["p_kw"]
    # the simulator's battery model holds the last plan's first-interval power (SunSpec register resolution)
    assert setpoint == pytest.approx(planned, abs=10.0)
    assert p == pytest.approx(setpoint, abs=1e-9)
