"""Serve a park's Modbus devices from simulated physics over real sockets, with fault injection.

Each Modbus device of the park file becomes a pymodbus :class:`~pymodbus.simulator.SimDevice`
(one per unit id) on a TCP server at the device's host and port; devices with an
RTU connection whose ``serial_port`` is ``socket://host:port`` are served with RTU
framing over TCP. On every request the device's state is brought to the simulated
time and encoded into its register image with the same register map the poller uses.

Behaviour: PV follows clear-sky irradiance for the park's location times a cloud
index, capped by the curtailment limit; wind follows the power curve from a wind
speed series; loads follow their category shape with noise; the battery follows its
active power setpoint (SOC, efficiencies, power and SOC limits); the grid-connection
meter reads the park balance ``-(sum of device injections)`` over all park devices
(including gateway devices, which are simulated but not served).

Fault kinds (:data:`FAULT_KINDS`): ``no_answer`` (requests are swallowed, the client
times out), ``slow`` (answers after ``delay_s``), ``exception`` (Modbus exception 4,
device failure), ``garbage`` (active power scaled far outside the rating),
``refuse`` (the server closes: connection refused; affects every device on that port).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import math
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pymodbus.constants import ExcCodes
from pymodbus.framer import FramerType
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from device_drivers.codec import STRING
from device_drivers.register_map import RegisterMap, load_map, orient
from device_drivers.simulator.image import RegisterImage
from device_drivers.simulator.physics import (
    CELLS_PER_STRING,
    DC_V_MAX,
    DC_V_MPP,
    INVERTER_EFFICIENCY,
    LFP_CELL_V_MIN,
    MODULES_PER_STRING,
    BatteryState,
    DailySeries,
    SimClock,
    load_series,
    pv_series,
    wind_power,
    wind_speed,
)
from ems.park import Battery, Load, Meter, ModbusRtu, ModbusTcp, Park, PvPlant, WindTurbine
from ems.quantities import QUANTITIES

FAULT_KINDS = ("no_answer", "slow", "exception", "garbage", "refuse")
SERVED_YEARS = 30  # energy counters are sized for 30 years at rating


def rating_kw(dev: Any) -> float:
    if isinstance(dev, WindTurbine):
        return dev.p_total_kw
    if isinstance(dev, Battery):
        return max(dev.p_charge_max_kw, dev.p_discharge_max_kw)
    if isinstance(dev, Load):
        return dev.p_peak_kw
    return float(dev.p_rated_kw)


class DeviceModel:
    """Physics of one park device: power [kW, generator convention] at a simulated time."""

    def __init__(self, dev: Any, park: Park, origin: dt.datetime, seed: tuple[int, ...], cloudiness: float):
        self.dev = dev
        self.limit_pct = 100.0
        self.battery = BatteryState(dev, dev.soc_initial) if isinstance(dev, Battery) else None
        self.series: DailySeries | None = None
        if isinstance(dev, PvPlant):
            self.series = pv_series(dev, park.location, origin, seed, cloudiness)
        elif isinstance(dev, WindTurbine):
            self.series = wind_speed(origin, seed, park.tz)
        elif isinstance(dev, Load):
            self.series = load_series(dev, origin, seed, park.tz)

    def power_kw(self, t: dt.datetime) -> float:
        dev = self.dev
        if self.battery is not None:
            return self.battery.p_kw
        if self.series is None:
            return 0.0
        if isinstance(dev, PvPlant):
            return min(self.series.at(t), self.limit_pct / 100.0 * dev.p_rated_kw)
        if isinstance(dev, WindTurbine):
            return min(wind_power(dev, self.series.at(t)), self.limit_pct / 100.0 * dev.p_total_kw)
        return -self.series.at(t)


class SimulatedDevice:
    """One served device: its model, register image, energy counters and current fault."""

    def __init__(
        self,
        dev: Any,
        rmap: RegisterMap,
        clock: SimClock,
        model: DeviceModel,
        balance: Any,
        vn_kv: float,
    ) -> None:
        self.dev = dev
        self.map = rmap
        self.clock = clock
        self.model = model
        self.balance = balance  # callable(t) -> park net injection [kW], for the grid meter
        self.vn_kv = vn_kv
        self.sign = rmap.sign_for(dev.type)
        self.image = RegisterImage(rmap)
        self.fault: str | None = None
        self.delay_s = 0.6
        self._cleared = asyncio.Event()
        rating = rating_kw(dev)
        # an installed device has history: counters start well above 0 in its main direction
        main, other = 1000.0 * rating, 10.0 * rating
        self.e_out_kwh, self.e_in_kwh = (other, main) if isinstance(dev, Load) else (main, other)
        self._last_t: dt.datetime | None = None
        self._last_p = 0.0
        self.requests = 0  # served requests, for inspection
        # MPPT inputs served (SunSpec 160's modules) and their DC energy counters
        self.channels = sum(self.image.copies.values()) if isinstance(dev, PvPlant) else 0
        self.dc_e_kwh = [0.9 * self.e_out_kwh / max(self.channels, 1)] * self.channels
        self._last_dc = [0.0] * self.channels
        # battery strings served (SunSpec 803's repeating "string" group)
        self.strings = sum(self.image.copies.values()) if isinstance(dev, Battery) else 0
        self._writable = {
            s.address + i for s in self.image.slots.values() if s.point.writable for i in range(s.point.count)
        }
        self._init_registers(rating)

    # ------------------------------------------------------------------ registers

    def _design_max(self, quantity: str, rating: float) -> float:
        v_ll = self.vn_kv * 1000.0
        quantity = QUANTITIES[quantity].family or quantity if quantity in QUANTITIES else quantity
        return {
            "dc_p_kw": 1.3 * rating,
            "dc_v_v": DC_V_MAX,
            "dc_i_a": 1.3 * rating * 1000.0 / DC_V_MPP,
            "dc_e_kwh": rating * 8760 * SERVED_YEARS,
            "dc_temp_c": 150.0,
            "str_soc_pct": 100.0,
            "str_soh_pct": 100.0,
            "str_i_a": 1.3 * rating * 1000.0 / max(self.strings, 1) / (CELLS_PER_STRING * LFP_CELL_V_MIN),
            "str_cell_v_v": 5.0,
            "str_temp_c": 150.0,
            "p_kw": 1.3 * rating,
            "q_kvar": 1.3 * rating,
            "p_setpoint_kw": 1.3 * rating,
            "v_v": 1.3 * v_ll,
            "f_hz": 70.0,
            "i_a": 1.3 * rating / (math.sqrt(3) * self.vn_kv),
            "temp_c": 150.0,
            "soc_pct": 100.0,
            "p_limit_pct": 100.0,
            "e_out_kwh": rating * 8760 * SERVED_YEARS,
            "e_in_kwh": rating * 8760 * SERVED_YEARS,
        }.get(quantity, 1.3 * rating)

    def _init_registers(self, rating: float) -> None:
        maxima = {
            k: self._design_max(s.point.quantity, rating) for k, s in self.image.slots.items() if s.point.quantity
        }
        for key in self.image.slots:
            if key.endswith("WChaMax"):
                maxima[key] = 1.3 * rating
        self.image.set_scale_factors(maxima)
        for key, s in self.image.slots.items():
            if s.point.quantity == "p_limit_pct":
                self.image.set(key, 100.0)
            if s.point.quantity == "p_setpoint_kw":  # implemented from the start, as on a real device: 0 W
                self.image.set(key, 0.0)
            if key.endswith("WChaMax") and isinstance(self.dev, Battery):
                self.image.set(key, self.dev.p_charge_max_kw)
            if s.point.writable and s.point.dtype.startswith("enum"):
                # control flags start disabled (0); 704's WSetMod starts at WATTS (1): setpoints in watts
                self.image.set_raw(key, 1 if s.point.name == "WSetMod" else 0)
        # a repeating group's count point (160's N) and each input's name
        for m in self.map.models:
            if m.repeating is not None and m.name in self.image.models:
                n = self.image.copies[m.name]
                if m.repeating.count:
                    self.image.set_raw(f"{m.name}.{m.repeating.count}", n)
                if self.image.has(f"{m.name}.NStrCon"):  # 803: every string's contactor closed
                    self.image.set_raw(f"{m.name}.NStrCon", n)
                for k in range(1, n + 1):
                    key = f"{m.name}.{m.repeating.name}[{k}].StrNMod"
                    if self.image.has(key):
                        self.image.set_raw(key, MODULES_PER_STRING)
                for k in range(1, n + 1):
                    key = f"{m.name}.{m.repeating.name}[{k}].IDStr"
                    if self.image.has(key):
                        self.image.set_string(key, f"MPPT {k}")
        # the mandatory identification strings of the common model, as a real device fills them
        identity = {"Mn": "zero-carbon-ems", "Md": f"simulated {self.map.name}", "Vr": "sim-1", "SN": str(self.dev.id)}
        for key, s in self.image.slots.items():
            if s.point.dtype == STRING and s.point.name in identity:
                self.image.set_string(key, identity[s.point.name][: 2 * s.point.count])
        self.refresh()

    def _control_value(self, quantity: str) -> float | None:
        """Value of a setpoint register if its enable flags are set (the device's own view)."""
        for spec in self.map.controls.get(quantity, ()):
            prefix = f"{spec.model}." if spec.model else ""
            key = prefix + spec.setpoint
            if not self.image.has(key):
                continue
            if all(self.image.get_raw(prefix + p) == v for p, v in spec.enable):
                return orient(quantity, self.image.get(key), self.sign)[1]
        return None

    # ------------------------------------------------------------------ physics

    def refresh(self) -> None:
        """Bring the device to the simulated time and write every measured point."""
        values = self.measure()
        p = values["p_kw"]
        for key, s in self.image.slots.items():
            q = s.point.quantity
            if q is None or s.point.writable:
                continue
            canonical, _ = orient(q, 0.0, self.sign)  # which canonical quantity this native point shows
            if canonical in values:
                self.image.set(key, orient(canonical, values[canonical], self.sign)[1])
        if "status" in self.image.slots:
            self.image.set("status", 2 if self.model.limit_pct < 100 else (1 if p > 0 else 0))

    def measure(self) -> dict[str, float]:
        """Bring the device to the simulated time; its measured quantities (generator convention)."""
        t = self.clock.now()
        hours = 0.0 if self._last_t is None else max(0.0, (t - self._last_t).total_seconds() / 3600)
        self._last_t = t
        dev = self.dev
        limit = self._control_value("p_limit_pct")
        self.model.limit_pct = 100.0 if limit is None else limit
        if self.model.battery is not None:
            sp = self._control_value("p_setpoint_kw")
            self.model.battery.advance(hours)
            self.model.battery.setpoint_kw = 0.0 if sp is None else sp
            self.model.battery.p_kw = self.model.battery.power_for(self.model.battery.setpoint_kw)
        p = -self.balance(t) if isinstance(dev, Meter) else self.model.power_kw(t)
        # energy counters: rectangle rule with the power held since the last look
        self.e_out_kwh += max(self._last_p, 0.0) * hours
        self.e_in_kwh += max(-self._last_p, 0.0) * hours
        self._last_p = p
        minute = t.hour * 60 + t.minute + t.second / 60
        rating = rating_kw(dev)
        values = {
            "p_kw": p,
            "q_kvar": 0.05 * p,
            "v_v": self.vn_kv * 1000.0 * (1.0 + 0.01 * math.sin(2 * math.pi * minute / 97.0)),
            "f_hz": 50.0 + 0.02 * math.sin(2 * math.pi * minute / 13.0),
            "temp_c": 30.0 + 15.0 * abs(p) / rating,
            "e_out_kwh": self.e_out_kwh,
            "e_in_kwh": self.e_in_kwh,
        }
        values["i_a"] = abs(p) / (math.sqrt(3) * self.vn_kv)
        values |= self._dc_inputs(p, hours, values["temp_c"])
        if self.model.battery is not None:
            values["soc_pct"] = 100.0 * self.model.battery.soc
            values |= self._battery_strings(p, self.model.battery.soc, values["temp_c"])
        if isinstance(dev, WindTurbine) and self.model.series is not None:
            values["wind_speed_m_s"] = self.model.series.at(t)
        return values

    def _dc_inputs(self, p_ac: float, hours: float, temp_c: float) -> dict[str, float]:
        """Per-MPPT DC quantities of an inverter serving a repeating group (SunSpec 160).

        The DC side carries the AC power plus the conversion loss, split unevenly over the inputs
        (strings of different length and orientation), so every input reads a distinct value.
        """
        if not self.channels:
            return {}
        weights = [1.0 - 0.1 * (k - 1) for k in range(1, self.channels + 1)]
        p_dc = max(p_ac, 0.0) / INVERTER_EFFICIENCY
        out: dict[str, float] = {}
        for k, w in enumerate(weights, start=1):
            pk = p_dc * w / sum(weights)
            v = DC_V_MPP + 10.0 * k if pk > 0 else 0.0
            self.dc_e_kwh[k - 1] += self._last_dc[k - 1] * hours
            self._last_dc[k - 1] = pk
            out |= {
                f"dc_p_kw.{k}": pk,
                f"dc_v_v.{k}": v,
                f"dc_i_a.{k}": pk * 1000.0 / v if v else 0.0,
                f"dc_e_kwh.{k}": self.dc_e_kwh[k - 1],
                f"dc_temp_c.{k}": temp_c + k,
            }
        return out

    def _battery_strings(self, p_ac: float, soc: float, temp_c: float) -> dict[str, float]:
        """Per-string quantities of a battery serving a repeating group (SunSpec 803).

        The DC power (AC power plus the conversion loss while discharging, minus it while charging)
        is shared equally; each string's current is its share over its voltage, cells times an LFP
        cell voltage rising with the state of charge. Strings age a little differently, so their state
        of charge and health differ by a few tenths of a percent, as a real bank's do.
        """
        if not self.strings:
            return {}
        p_dc = p_ac / INVERTER_EFFICIENCY if p_ac > 0 else p_ac * INVERTER_EFFICIENCY
        cell_v = LFP_CELL_V_MIN + 0.25 * soc
        out: dict[str, float] = {}
        for k in range(1, self.strings + 1):
            out |= {
                f"str_soc_pct.{k}": min(100.0, max(0.0, 100.0 * soc + 0.3 * (k - 1))),
                f"str_soh_pct.{k}": 98.0 - 0.5 * k,
                f"str_i_a.{k}": p_dc * 1000.0 / self.strings / (CELLS_PER_STRING * cell_v),
                f"str_cell_v_v.{k}": cell_v,
                f"str_temp_c.{k}": temp_c - 5.0 + k,
            }
        return out

    def corrupted(self) -> list[int]:
        """The registers with garbage: active power reads 1000× too high (scale factor or raw value blown up).

        The image itself stays intact, so clearing the fault restores correct answers at once.
        """
        saved = list(self.image.regs)
        for key, s in self.image.slots.items():
            if s.point.quantity == "p_kw":
                if s.sf_key:
                    self.image.set_raw(s.sf_key, min(10, int(self.image.get_raw(s.sf_key)) + 3))
                else:
                    self.image.set(key, 1000.0 * rating_kw(self.dev))
        bad, self.image.regs = self.image.regs, saved
        return bad

    # ------------------------------------------------------------------ Modbus

    def set_fault(self, kind: str | None, delay_s: float = 0.6) -> None:
        if kind is not None and kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; known: {', '.join(FAULT_KINDS)}")
        self.fault = kind
        self.delay_s = delay_s
        if kind is None:
            self._cleared.set()
        else:
            self._cleared = asyncio.Event()

    async def action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        """pymodbus hook, called before every request is served."""
        self.requests += 1
        fault = self.fault
        if fault == "no_answer":
            await self._cleared.wait()
            return ExcCodes.DEVICE_FAILURE  # answer to a client that has long given up
        if fault == "slow":
            await asyncio.sleep(self.delay_s)
        elif fault == "exception":
            return ExcCodes.DEVICE_FAILURE
        if set_values is not None:
            addrs = range(address, address + len(set_values))
            if not all(a in self._writable for a in addrs):
                return ExcCodes.ILLEGAL_ADDRESS
            self.image.write(address, [int(v) for v in set_values])
            self.refresh()
            return None
        self.refresh()
        registers[: len(self.image.regs)] = self.corrupted() if fault == "garbage" else self.image.regs
        return None

    def sim_device(self, unit: int) -> SimDevice:
        data = [
            SimData(
                a, values=self.image.regs[a - self.image.start : a - self.image.start + n], datatype=DataType.REGISTERS
            )
            for a, n in self.image.runs()
        ]
        return SimDevice(id=unit, simdata=data, action=self.action)


@dataclass
class _Server:
    host: str
    port: int
    framer: FramerType
    devices: list[tuple[int, SimulatedDevice]]
    server: ModbusTcpServer | None = None


def _endpoint(conn: ModbusTcp | ModbusRtu) -> tuple[str, int, FramerType] | None:
    if isinstance(conn, ModbusTcp):
        return conn.host, conn.port, FramerType.SOCKET
    if conn.serial_port.startswith("socket://"):
        host, _, port = conn.serial_port.removeprefix("socket://").rpartition(":")
        return host, int(port), FramerType.RTU
    return None  # a real serial port cannot be simulated here


class ParkSimulator:
    """Simulated Modbus devices of a park; ``async with ParkSimulator(park) as sim: ...``."""

    def __init__(
        self,
        park: Park,
        seed: int = 0,
        speed: float = 1.0,
        start: dt.datetime | None = None,
        cloudiness: float = 0.3,
        devices: Sequence[str] | None = None,
        maps: dict[str, RegisterMap] | None = None,
    ) -> None:
        start = (start or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
        self.park = park
        self.clock = SimClock(start, speed)
        origin = start.replace(hour=0, minute=0, second=0, microsecond=0)
        self.models = {
            d.id: DeviceModel(d, park, origin, (seed, i), cloudiness)
            for i, d in enumerate(park.devices)
            if not isinstance(d, Meter)
        }
        buses = {b.id: b.vn_kv for b in park.network.buses}
        maps = dict(maps or {})
        wanted = set(devices) if devices is not None else None
        self.devices: dict[str, SimulatedDevice] = {}
        servers: dict[tuple[str, int], _Server] = {}
        for d in park.devices:
            conn = d.connection
            if not isinstance(conn, ModbusTcp | ModbusRtu) or (wanted is not None and d.id not in wanted):
                continue
            ep = _endpoint(conn)
            if ep is None:
                continue
            if conn.register_map not in maps:
                maps[conn.register_map] = load_map(conn.register_map)
            model = self.models.get(d.id) or DeviceModel(d, park, origin, (seed, -1), cloudiness)
            sim = SimulatedDevice(d, maps[conn.register_map], self.clock, model, self.balance_kw, buses[d.bus])
            self.devices[d.id] = sim
            srv = servers.setdefault((ep[0], ep[1]), _Server(ep[0], ep[1], ep[2], []))
            if any(u == conn.unit_id for u, _ in srv.devices):
                raise ValueError(f"{d.id}: unit id {conn.unit_id} used twice on {ep[0]}:{ep[1]}")
            srv.devices.append((conn.unit_id, sim))
        self._servers = list(servers.values())
        self._by_device = {sim.dev.id: s for s in self._servers for _, sim in s.devices}

    def balance_kw(self, t: dt.datetime) -> float:
        """Net injection of all non-meter park devices at ``t`` [kW]; the grid meter reads its negative."""
        return sum(m.power_kw(t) for m in self.models.values())

    async def _serve(self, s: _Server) -> None:
        s.server = ModbusTcpServer(
            [sim.sim_device(unit) for unit, sim in s.devices], address=(s.host, s.port), framer=s.framer
        )
        await s.server.serve_forever(background=True)

    async def start(self) -> None:
        for s in self._servers:
            await self._serve(s)

    async def stop(self) -> None:
        for sim in self.devices.values():
            sim.set_fault(None)
        for s in self._servers:
            if s.server is not None:
                await s.server.shutdown()
                s.server = None

    async def __aenter__(self) -> ParkSimulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def device(self, device_id: str) -> SimulatedDevice:
        return self.devices[device_id]

    async def inject_fault(self, device_id: str, kind: str, delay_s: float = 0.6) -> None:
        """Start a fault on a device (``refuse`` closes the device's whole server port)."""
        sim = self.devices[device_id]
        sim.set_fault(kind, delay_s)
        if kind == "refuse":
            s = self._by_device[device_id]
            if s.server is not None:
                await s.server.shutdown()
                s.server = None

    async def clear_fault(self, device_id: str) -> None:
        sim = self.devices[device_id]
        kind = sim.fault
        sim.set_fault(None)
        s = self._by_device[device_id]
        if kind == "refuse" and s.server is None:
            await self._serve(s)

    def served(self) -> list[tuple[str, int, list[str]]]:
        """(host, port, device ids) of every server."""
        return [(s.host, s.port, [sim.dev.id for _, sim in s.devices]) for s in self._servers]


def free_port(host: str = "127.0.0.1") -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def with_free_ports(park: Park, host: str = "127.0.0.1") -> Park:
    """Copy of ``park`` whose Modbus TCP devices listen on free local ports (devices sharing a port still do)."""
    new_ports: dict[tuple[str, int], int] = {}
    devices = []
    for d in park.devices:
        conn = d.connection
        if isinstance(conn, ModbusTcp):
            port = new_ports.setdefault((conn.host, conn.port), free_port(host))
            d = d.model_copy(update={"connection": conn.model_copy(update={"host": host, "port": port})})
        devices.append(d)
    return park.model_copy(update={"devices": devices})
