"""The park simulator: determinism, physics through ems.profiles, sign conventions, time acceleration."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import numpy as np
import pytest

from device_drivers.device import DeviceDriver
from device_drivers.register_map import load_map
from device_drivers.simulator import ParkSimulator
from device_drivers.transport import ModbusTransport
from ems import profiles
from ems.park import Load, ModbusTcp, Park, PvPlant

START = dt.datetime(2026, 6, 21, 4, 0, tzinfo=dt.UTC)  # 12:00 Asia/Shanghai, on a minute boundary


def test_same_seed_same_registers_other_seed_differs(demo_park: Park) -> None:
    def image(seed: int) -> dict[str, list[int]]:
        sim = ParkSimulator(demo_park, seed=seed, speed=0.0, start=START)
        return {d: list(s.image.regs) for d, s in sim.devices.items()}

    a, b, c = image(7), image(7), image(8)
    assert a == b
    assert a["PV_CELLS"] != c["PV_CELLS"] and a["WIND"] != c["WIND"]


def test_pv_power_follows_clear_sky_and_clouds(demo_park: Park) -> None:
    """Recompute PV_CELLS at START from ems.profiles with the simulator's documented seeding."""
    seed = 11
    sim = ParkSimulator(demo_park, seed=seed, speed=0.0, start=START, cloudiness=0.3)
    idx = [d.id for d in demo_park.devices].index("PV_CELLS")
    dev = demo_park.device("PV_CELLS")
    assert isinstance(dev, PvPlant)
    day = np.datetime64("2026-06-21T00:00") + np.arange(1441).astype("timedelta64[m]")
    rng = np.random.default_rng((seed, idx, 0))  # (seed, device index, day index)
    loc = demo_park.location
    ghi = profiles.clear_sky_ghi(day, loc.latitude, loc.longitude, loc.altitude_m)
    ghi = ghi * profiles.clear_sky_index(len(day), rng, 0.3)
    expected = profiles.pv_power_kw(ghi, dev.dc_kwp, dev.p_rated_kw, dev.performance_ratio)[4 * 60]
    assert expected > 1000  # noon in June: the plant produces
    assert sim.models["PV_CELLS"].power_kw(START) == pytest.approx(expected, rel=1e-12)


async def test_served_values_follow_the_sign_convention(demo_park: Park) -> None:
    from device_drivers.simulator import with_free_ports

    park = with_free_ports(demo_park)
    async with ParkSimulator(park, seed=2, speed=0.0, start=START) as sim:
        got = {}
        for dev in park.devices:
            conn = dev.connection
            if not isinstance(conn, ModbusTcp):
                continue
            tr = ModbusTransport.tcp(conn.host, conn.port)
            readings, garbage = await DeviceDriver(dev.id, dev, load_map(conn.register_map), tr).read()
            assert garbage == 0
            if dev.id == "M_GRID":
                # discovery: marker, headers of models 1 and 203, end marker; then the meter points
                # (offsets 2..54, no gap above 16 registers) in a single block read
                # plus one read of the common model's identification strings (Mn, Md, Vr, SN)
                assert sim.device("M_GRID").requests == 4 + 1 + 1
            got[dev.id] = {r.quantity: r.value for r in readings}
            await tr.close()
        for dev in park.devices:
            if isinstance(dev, Load) and dev.id in got:
                assert got[dev.id]["p_kw"] < 0  # loads draw: negative in the generator convention
                assert got[dev.id]["e_in_kwh"] > got[dev.id]["e_out_kwh"]
        assert got["PV_CELLS"]["p_kw"] > 0 and got["WIND"]["p_kw"] >= 0
        # grid meter = -(net injection of every non-meter device, gateway devices included): 10 kW steps at 80 MW
        balance = sum(m.power_kw(START) for m in sim.models.values())
        assert got["M_GRID"]["p_kw"] == pytest.approx(-balance, abs=5.0)
        assert got["M_GRID"]["p_kw"] > 0  # the park imports at noon (loads ~45 MW > PV + wind)


async def test_time_acceleration(demo_park: Park) -> None:
    """t_sim = start + speed · wall elapsed, bracketed by wall-clock readings taken around it."""
    w0 = time.monotonic()
    sim = ParkSimulator(demo_park, seed=0, speed=3600.0, start=START)
    w1 = time.monotonic()
    await asyncio.sleep(0.3)
    w2 = time.monotonic()
    elapsed = (sim.clock.now() - START).total_seconds()
    w3 = time.monotonic()
    assert 3600 * (w2 - w1) <= elapsed <= 3600 * (w3 - w0)
