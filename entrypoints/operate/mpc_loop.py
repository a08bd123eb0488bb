"""The production MPC loop (``ems mpc``): at every interval boundary, re-plan from the store, write
the first interval's setpoints to the devices whose control the park file enables, then store the
accuracy of the forecasts that covered the interval just metered (``GET /v1/forecasts/accuracy``).

It does not poll: telemetry comes from the poller service (``ems poll``) through the store. It opens
its own Modbus connections to the controllable devices only (a write is a few registers; the devices
serialise requests from both clients). Stops on cancellation (Ctrl-C / SIGTERM) after closing them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable

from device_drivers import Controller, Poller
from dispatch.prices import PriceSeries
from ems.park import ModbusRtu, ModbusTcp, Park
from ems.store import Store
from entrypoints.operate.actuate import Actuation, apply_first_interval, controllable_devices
from entrypoints.operate.clock import Clock, interval_start, sleep_until_or_stop, wall_clock
from entrypoints.operate.mpc_step import Planner, PlanStep
from entrypoints.operate.scoring import BackgroundScoring

log = logging.getLogger(__name__)


async def run_mpc(
    park: Park,
    store: Store,
    *,
    clock: Clock = wall_clock,
    speed: float = 1.0,
    steps: int | None = None,
    horizon: int = 96,
    history_days: int = 14,
    ac_check: bool = True,
    on_step: Callable[[PlanStep, Actuation], None] | None = None,
    stop: asyncio.Event | None = None,
    prices: PriceSeries | None = None,
) -> int:
    """Plan and actuate at each interval start (the current one first) until cancelled or after ``steps``
    plans; returns the number of plans made.

    ``clock``/``speed``: the time source and its rate (a simulator's accelerated clock in tests);
    ``stop``: set it to end the loop (signal handlers), the connections are closed either way;
    ``prices``: import/export price series (a spot-price file), else the park's tariff.
    """
    modbus = {d.id for d in park.devices if isinstance(d.connection, ModbusTcp | ModbusRtu)}
    controllable = controllable_devices(park, modbus)
    drivers = Poller.from_park(park, device_ids=controllable)  # connections only; never started
    controller = Controller(park, drivers.driver)
    planner = Planner(park, store, horizon=horizon, history_days=history_days, ac_check=ac_check, prices=prices)
    scoring = BackgroundScoring(planner)
    stop = stop or asyncio.Event()
    made = 0
    step_len = dt.timedelta(minutes=park.interval_minutes)
    last: dt.datetime | None = None
    try:
        while (steps is None or made < steps) and not stop.is_set():
            # the current interval at once on start-up; then each next one (skipping any missed while planning)
            current = interval_start(clock(), park.interval_minutes)
            start = current if last is None else max(last + step_len, current)
            last = start
            if not await sleep_until_or_stop(clock, start, speed, stop):
                break
            step = await asyncio.to_thread(planner.plan, start, clock())
            act = await apply_first_interval(controller, park, step.schedule, controllable)
            for dev, err in act.failed:
                log.warning("setpoint for %s failed: %s", dev, err)
            log.info(
                "planned %s (%s, %s, %.2f s): %s",
                start.isoformat(),
                step.schedule.method,
                step.schedule.status,
                step.seconds,
                ", ".join(f"{r.device}={r.confirmed:g}" for r in act.results) or "no controllable device",
            )
            scoring.metered(start)  # the interval before ``start`` is metered now
            made += 1
            if on_step is not None:
                on_step(step, act)
    finally:
        await scoring.finish()
        await drivers.stop()
    return made
