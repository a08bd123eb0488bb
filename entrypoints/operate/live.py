"""The live demo: the whole park as one system on an accelerated clock.

Composition (all real components, in one process):

* :class:`~device_drivers.simulator.ParkSimulator` serves every Modbus device of the park on local
  ports; its :class:`~device_drivers.simulator.physics.SimClock` (``t = start + speed · wall elapsed``)
  is *the* clock: poller timestamps, interval boundaries, ingest validation and the gateway use it;
* :class:`~device_drivers.Poller` reads the devices every ``sample_s`` simulated seconds into the store
  (through its fsync'ed write-ahead journal, as ``ems poll`` does: a killed demo loses at most the
  poll in flight, and a store outage delays delivery only);
* :class:`~entrypoints.operate.gateway.SimulatedGateway` pushes the gateway devices through ``POST /v1/telemetry``;
* every interval :class:`~entrypoints.operate.mpc_step.Planner` re-plans from the store (forecasts, MPC, AC check),
  the schedule is saved, and the first interval's battery power / PV limits are written back through
  :class:`~device_drivers.Controller` — the simulated battery follows them; then the accuracy of the
  forecasts covering the interval just metered is stored; between re-plans the
  :class:`~entrypoints.operate.guard.ImportGuard` corrects the battery when the metered import would set a new peak;
* the API (:func:`api.app.create_app` in a :class:`api.server.BackgroundServer`) serves it all, with the
  poller's device health and the planner's grid status;
* at the end: carbon accounting (factor series by both methods, a report issued and verified) and the
  comparison with the rule-based baseline (:mod:`entrypoints.operate.summary`).

The simulated period lies in the past (default: the last ``ceil(hours/24)`` full local days) so that
no reading is "in the future" for validators using the wall clock (the API's ingest does).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from api.app import create_app
from api.server import BackgroundServer
from device_drivers import Controller, Poller, Spool
from device_drivers.simulator import ParkSimulator, with_free_ports
from dispatch.prices import PriceSeries
from ems.park import Park
from ems.settings import Settings
from ems.store import Store
from ems.store.keys import create_key
from ems.telemetry import IngestResult, ReadingBatch
from entrypoints.operate.actuate import apply_first_interval, controllable_devices
from entrypoints.operate.clock import sleep_until_or_stop
from entrypoints.operate.gateway import GatewayStats, SimulatedGateway, gateway_devices
from entrypoints.operate.guard import GuardAction, ImportGuard
from entrypoints.operate.mpc_step import Planner, PlanStep
from entrypoints.operate.period_carbon import CarbonOutcome, Settlement, account, settle
from entrypoints.operate.plant import DirectLineModel, add_direct_lines, backfill_history, true_available_kw
from entrypoints.operate.scoring import BackgroundScoring
from entrypoints.operate.summary import Comparison, compare
from services.month_to_date import peak_import_so_far_kw


@dataclass
class LiveConfig:
    hours: float = 24.0
    speed: float = 360.0  # simulated seconds per wall second: a day in 4 minutes
    seed: int = 1
    day: dt.date | None = None  # local date of the first simulated day; None = the latest past days
    start_hour: int = 0  # local hour of day the simulated period starts
    history_days: int = 7
    horizon: int = 96  # intervals each re-plan looks ahead (`ems demo` sets one day of the park's)
    ac_check: bool = True
    sample_s: float = 60.0  # simulated seconds between polls and gateway pushes (< rollup_max_gap_s)
    api_port: int | None = None  # None = a free port
    pdf: bool = True
    guard: bool = True  # import-cap guard between re-plans (entrypoints.operate.guard)
    prices: PriceSeries | None = None  # spot-price file (dispatch.prices); None: the park's tariff


@dataclass
class Access:
    url: str
    dashboard_url: str
    tokens: dict[str, str]  # key name -> token (shown once)


@dataclass
class StepRecord:
    """One executed interval: the plan and what the devices confirmed."""

    start: dt.datetime
    schedule_id: int
    status: str
    method: str
    plan_seconds: float
    ac_iterations: int
    ac_violations_first: int
    planned: dict[str, float]  # device -> battery power [kW] or PV limit [%] the plan asked for
    confirmed: dict[str, float]  # device -> value read back after the write
    failed: list[tuple[str, str]]


@dataclass
class LiveResult:
    start: dt.datetime
    end: dt.datetime
    access: Access
    steps: list[StepRecord]
    comparison: Comparison
    carbon: CarbonOutcome
    readings_polled: int
    readings_accepted: int
    gateway: GatewayStats
    backfilled: int
    wall_s: float
    guard_actions: list[GuardAction] = field(default_factory=list)
    sim_state: dict[str, Any] = field(default_factory=dict)  # final simulator device state (inspection)
    settlement: Settlement | None = None  # the simulated trading centre's contract settlement, imported


def live_window(
    park: Park, hours: float, day: dt.date | None, now: dt.datetime, start_hour: int = 0
) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of the simulated period: from ``start_hour`` (local) of ``day`` (default:
    ``ceil((start_hour + hours)/24)`` days before today), ``hours`` long; it must end before ``now``."""
    if not 0 <= start_hour < 24:
        raise ValueError(f"start hour {start_hour} is not in 0..23")
    if day is None:
        day = now.astimezone(park.tz).date() - dt.timedelta(days=max(1, math.ceil((start_hour + hours) / 24)))
    start = dt.datetime.combine(day, dt.time(start_hour), tzinfo=park.tz).astimezone(dt.UTC)
    end = start + dt.timedelta(hours=hours)
    if end > now:
        raise ValueError(
            f"the simulated period {start.isoformat()} .. {end.isoformat()} ends in the future; "
            "gateways' readings would be rejected: pick an earlier --day"
        )
    return start, end


class _SimTimeSink:
    """The store as the poller's sink, validating "future" readings against the simulated clock."""

    def __init__(self, store: Store, clock: Callable[[], dt.datetime]) -> None:
        self.store, self.clock = store, clock

    def ingest(self, batch: ReadingBatch) -> IngestResult:
        return self.store.ingest(batch, source="poller", now=self.clock())


def create_demo_keys(store: Store, park: Park) -> dict[str, str]:
    """Operator, auditor and admin keys and one gateway key per gateway; name -> token."""
    tokens = {}
    for role in ("operator", "auditor", "admin"):
        tokens[role] = create_key(store, f"demo-{role}", role)[1]
    for gw in gateway_devices(park):
        tokens[f"gateway:{gw}"] = create_key(store, f"demo-{gw}", "gateway", gateway_id=gw)[1]
    return tokens


class LiveRun:
    """``async with LiveRun(park, store, settings, cfg) as live: result = await live.run()``;
    the API keeps serving until the context exits."""

    def __init__(self, park: Park, store: Store, settings: Settings, cfg: LiveConfig) -> None:
        self.park = with_free_ports(park)  # the park file's ports may be taken (parallel runs, a real poller)
        self.store = store
        self.settings = settings
        self.cfg = cfg
        self.start, self.end = live_window(park, cfg.hours, cfg.day, dt.datetime.now(dt.UTC), cfg.start_hour)
        self.server: BackgroundServer | None = None
        self.grid_status: dict[str, Any] | None = None

    async def __aenter__(self) -> LiveRun:
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.server is not None:
            await asyncio.to_thread(self.server.stop)
            self.server = None

    async def run(
        self,
        on_ready: Callable[[Access], None] | None = None,
        on_step: Callable[[StepRecord], None] | None = None,
        stop: asyncio.Event | None = None,
    ) -> LiveResult | None:
        """Run the period; ``None`` when ``stop`` was set first (servers stopped, poller flushed, no summary)."""
        cfg, park, store = self.cfg, self.park, self.store
        t_wall = time.perf_counter()
        interval = dt.timedelta(minutes=park.interval_minutes)
        backfilled = await asyncio.to_thread(
            backfill_history,
            park,
            store,
            self.start - dt.timedelta(days=cfg.history_days),
            self.start,
            cfg.seed + 1,
            cfg.sample_s,
        )
        tokens = create_demo_keys(store, park)
        planner = Planner(
            park, store, horizon=cfg.horizon, history_days=cfg.history_days, ac_check=cfg.ac_check, prices=cfg.prices
        )
        scoring = BackgroundScoring(planner)
        prior_peak = await asyncio.to_thread(peak_import_so_far_kw, store, park, self.start, cfg.history_days)
        sim = ParkSimulator(park, seed=cfg.seed, speed=cfg.speed, start=self.start)
        direct = add_direct_lines(sim.models, park)
        clock = sim.clock
        journal = Spool(self.settings.data_dir / "spool" / "demo.sqlite", durable=True)
        poller = Poller.from_park(
            park,
            sink=_SimTimeSink(store, clock.now),
            journal=journal,
            interval_s=cfg.sample_s / cfg.speed,
            clock=clock.now,
            flush_interval_s=0.5,
        )
        controller = Controller(park, poller.driver)
        controllable = controllable_devices(park, set(poller.devices))
        guard = self._guard(poller, controller) if cfg.guard else None
        control_lock = asyncio.Lock()  # a plan's setpoints and the guard's corrections never interleave
        app = create_app(
            self.settings,
            park,
            store,
            health_provider=poller.health,
            grid_status=lambda: self.grid_status,
        )
        self.server = await asyncio.to_thread(BackgroundServer(app, port=cfg.api_port).start)
        access = Access(self.server.url, f"{self.server.url}/dashboard/#key={tokens['operator']}", tokens)
        gw_tokens = {k.split(":", 1)[1]: v for k, v in tokens.items() if k.startswith("gateway:")}
        gateway = SimulatedGateway(
            self.server.url,
            gw_tokens,
            gateway_devices(park),
            lambda d, t: _gateway_value(sim, park, d, t),
            clock.now,
            cfg.sample_s / cfg.speed,
        )
        if on_ready is not None:
            on_ready(access)
        n = int((self.end - self.start) / interval)
        contract_kw = {c.id: np.zeros(n) for c in park.green.contracts}
        limited = {g: np.zeros(n, dtype=bool) for g in controllable}
        steps: list[StepRecord] = []
        stop = stop or asyncio.Event()
        gw_stop = asyncio.Event()
        await sim.start()
        gw_task: asyncio.Task[None] | None = None
        guard_task: asyncio.Task[None] | None = None
        try:
            clock.start += self.start - clock.now()  # the simulated day starts now, not at construction
            await poller.start()
            gw_task = asyncio.create_task(gateway.run(gw_stop), name="gateway")
            if guard is not None:
                guard_task = asyncio.create_task(
                    _run_guard(guard, control_lock, clock.now, cfg.sample_s / cfg.speed, gw_stop), name="guard"
                )
            for k in range(n):
                t_k = self.start + k * interval
                if not await sleep_until_or_stop(clock.now, t_k, cfg.speed, stop):
                    break
                step = await asyncio.to_thread(planner.plan, t_k, clock.now())
                async with control_lock:
                    act = await apply_first_interval(controller, park, step.schedule, controllable)
                    if guard is not None:
                        guard.set_plan(
                            planner.import_cap_kw(step),
                            {r.device: r.confirmed for r in act.results if r.quantity == "p_setpoint_kw"},
                        )
                self._steer_direct_lines(direct, step)
                self.grid_status = await asyncio.to_thread(planner.grid_status, step)
                scoring.metered(t_k)
                for c in contract_kw:
                    contract_kw[c][k] = float(step.schedule.contract_kw[c][0])
                for r in act.results:
                    if r.quantity == "p_limit_pct" and r.applied < 100.0:
                        limited[r.device][k] = True
                rec = _record(step, act.results, act.failed)
                steps.append(rec)
                if on_step is not None:
                    on_step(rec)
            if await sleep_until_or_stop(clock.now, self.end, cfg.speed, stop):
                await scoring.finish()
                await asyncio.to_thread(planner.score_forecasts, self.end)  # the last interval is metered too
        finally:
            await scoring.finish()
            gw_stop.set()
            for task in (gw_task, guard_task):
                if task is not None:
                    await task
            await poller.stop()
            sim_state = _sim_state(sim)
            await sim.stop()
            journal.close()
        if stop.is_set():
            return None
        truth = true_available_kw(sim.models, park, [self.start + k * interval for k in range(n)])
        direct_avail = {
            c.id: np.array(
                [
                    np.mean(
                        [
                            direct[c.meter].available_kw(self.start + k * interval + dt.timedelta(minutes=m))
                            for m in range(park.interval_minutes)
                        ]
                    )
                    for k in range(n)
                ]
            )
            for c in park.green.direct_connections
            if c.meter in direct
        }
        soc0 = {b.id: b.soc_initial for b in park.devices_of("battery")}  # the simulated battery starts there
        comparison = await asyncio.to_thread(
            compare, park, store, self.start, self.end, truth, direct_avail, soc0, contract_kw, limited, prior_peak
        )
        reports_dir = self.settings.data_dir / "reports"
        settlement = None
        if contract_kw:  # contract deliveries reach the ledger as the trading centre settles them
            settlement = await asyncio.to_thread(
                settle, store, park, self.start, self.end, contract_kw, self.settings.data_dir / "settlements"
            )
        carbon = await asyncio.to_thread(account, store, park, self.start, self.end, Path(reports_dir), cfg.pdf)
        return LiveResult(
            self.start,
            self.end,
            access,
            steps,
            comparison,
            carbon,
            poller.stats.readings,
            poller.stats.accepted,
            gateway.stats,
            backfilled,
            time.perf_counter() - t_wall,
            guard.actions if guard is not None else [],
            sim_state,
            settlement,
        )

    def _guard(self, poller: Poller, controller: Controller) -> ImportGuard | None:
        """The import guard on the polled grid meter (None when the grid meter is not polled)."""
        gm = self.park.grid_meter
        if gm is None or gm.id not in poller.devices:
            return None
        driver = poller.driver(gm.id)

        async def read_meter_kw() -> float | None:
            readings, _ = await driver.read()
            return next((r.value for r in readings if r.quantity == "p_kw"), None)

        return ImportGuard(controller, read_meter_kw)

    @staticmethod
    def _steer_direct_lines(direct: dict[str, DirectLineModel], step: PlanStep) -> None:
        """The direct line delivers what the plan takes in its first interval (the plant follows the order)."""
        for m in direct.values():
            m.intake_kw = float(step.schedule.direct_kw.get(m.conn.id, np.zeros(1))[0])


async def _run_guard(
    guard: ImportGuard, lock: asyncio.Lock, clock: Callable[[], dt.datetime], period_s: float, stop: asyncio.Event
) -> None:
    while not stop.is_set():
        async with lock:
            await guard.check(clock())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), period_s)


def _gateway_value(sim: ParkSimulator, park: Park, device: str, t: dt.datetime) -> float:
    """Active power a gateway device reports at ``t``: its model's, or the balance for a grid meter."""
    model = sim.models.get(device)
    if model is not None:
        return float(model.power_kw(t))
    gm = park.grid_meter
    return -sim.balance_kw(t) if gm is not None and gm.id == device else 0.0


def _record(step: PlanStep, results: list[Any], failed: list[tuple[str, str]]) -> StepRecord:
    s = step.schedule
    return StepRecord(
        step.start,
        step.schedule_id,
        s.status,
        s.method,
        step.seconds,
        step.ac.iterations if step.ac else 0,
        len(step.ac.violations_first) if step.ac else 0,
        {r.device: r.requested for r in results},
        {r.device: r.confirmed for r in results},
        failed,
    )


def _sim_state(sim: ParkSimulator) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for dev_id, m in sim.models.items():
        battery = getattr(m, "battery", None)
        if battery is not None:
            out[dev_id] = {
                "setpoint_kw": battery.setpoint_kw,
                "p_kw": battery.p_kw,
                "soc": battery.soc,
                "e_out_kwh": battery.e_out_kwh,
                "e_in_kwh": battery.e_in_kwh,
            }
    return out
