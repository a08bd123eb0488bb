"""Setpoints: clamped to ratings, written through the register map, read back; battery physics by hand."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from device_drivers.control import Controller
from device_drivers.errors import ControlDisabled, ControlError
from device_drivers.poller import Poller
from device_drivers.simulator import ParkSimulator
from device_drivers.simulator.physics import BatteryState
from ems.park import Battery, Park
from tests.device_drivers.helpers import tune

START = dt.datetime(2026, 6, 21, 4, 0, tzinfo=dt.UTC)  # local noon: PV well above 40 % of rating


def _battery(demo_park: Park) -> Battery:
    dev = demo_park.device("BESS")
    assert isinstance(dev, Battery)
    return dev


def test_battery_energy_balance_by_hand(demo_park: Park) -> None:
    dev = _battery(demo_park)  # 40 MWh, η 0.95 / 0.95, self-discharge 1e-4 /h, SOC 0.10..0.95
    b = BatteryState(dev, soc=0.5, setpoint_kw=10_000)
    b.advance(1.0)
    # 20 000 kWh - 10 000/0.95 - 1e-4 · 20 000 = 9 471.684 kWh -> SOC 0.236792
    assert b.soc == pytest.approx((20_000 - 10_000 / 0.95 - 2.0) / 40_000, rel=1e-12)
    assert b.e_out_kwh == pytest.approx(10_000)
    c = BatteryState(dev, soc=0.5, setpoint_kw=-10_000)
    c.advance(1.0)
    assert c.soc == pytest.approx((20_000 + 10_000 * 0.95 - 2.0) / 40_000, rel=1e-12)
    assert c.e_in_kwh == pytest.approx(10_000)


def test_battery_stops_at_soc_min(demo_park: Park) -> None:
    b = BatteryState(_battery(demo_park), soc=0.5, setpoint_kw=20_000)
    b.advance(2.0)
    # cells lose 20 000/0.95 + 2 = 21 054.63 kWh/h; 16 000 kWh to SOC 0.10 last 0.759934 h
    assert b.soc == pytest.approx(0.10)
    assert b.e_out_kwh == pytest.approx(20_000 * 16_000 / (20_000 / 0.95 + 2.0), rel=1e-9)
    assert b.p_kw == 0.0  # empty: the setpoint can no longer be followed


async def test_setpoints_are_clamped_written_and_read_back(demo_free: Park) -> None:
    park = tune(demo_free, interval_s=0.2)
    served = ["BESS", "PV_CELLS"]
    async with ParkSimulator(park, seed=5, start=START, devices=served) as sim:
        poller = Poller.from_park(park, device_ids=served)
        await poller.start()
        try:
            ctl = Controller(park, poller.driver)
            r = await ctl.set_battery_power("BESS", 30_000)  # beyond the 20 MW discharge rating
            assert (r.requested, r.applied, r.confirmed, r.clamped) == (30_000, 20_000, 20_000, True)
            assert sim.device("BESS").model.battery is not None
            r = await ctl.set_battery_power("BESS", -25_000)
            assert (r.applied, r.confirmed) == (-20_000, -20_000)
            r = await ctl.set_battery_power("BESS", -1234.4)
            # WSet is int32 with WSet_SF = -1 for a 26 MW design maximum (2.6e8 < 2**31): 0.1 W steps
            assert r.confirmed == pytest.approx(-1234.4, abs=1e-9)
            r = await ctl.set_pv_limit("PV_CELLS", 150)
            assert (r.applied, r.confirmed) == (100, 100)
            r = await ctl.set_pv_limit("PV_CELLS", 40)
            assert r.confirmed == 40
            await asyncio.sleep(0.6)
            batch = poller.take_batch()
            pv = (batch.device == "PV_CELLS") & (batch.quantity == "p_kw")
            # curtailed to 40 % of 10 MW; the sun at local noon offers more than 4 MW
            assert batch.value[pv][-1] == pytest.approx(4_000)
            lim = (batch.device == "PV_CELLS") & (batch.quantity == "p_limit_pct")
            assert batch.value[lim][-1] == pytest.approx(40)
            bess = (batch.device == "BESS") & (batch.quantity == "p_kw")
            # measured W is int16 with W_SF = 3 (26 MW / 1000 W < 32767): 1 kW steps, -1234.4 -> -1234
            assert batch.value[bess][-1] == pytest.approx(-1234.0)
            with pytest.raises(ControlError, match="not a Battery"):
                await ctl.set_battery_power("PV_CELLS", 10)
            # a NaN passes min/max unchanged: refused before any write, the device keeps its setpoint
            for bad in (float("nan"), float("inf")):
                with pytest.raises(ControlError, match="not a finite number"):
                    await ctl.set_battery_power("BESS", bad)
                with pytest.raises(ControlError, match="not a finite number"):
                    await ctl.set_pv_limit("PV_CELLS", bad)
            assert (await ctl.set_pv_limit("PV_CELLS", 40)).confirmed == 40
        finally:
            await poller.stop()


async def test_control_refused_unless_enabled(demo_free: Park) -> None:
    park = demo_free
    bess = park.device("BESS")
    disabled = bess.model_copy(update={"control": bess.control.model_copy(update={"enabled": False})})
    park = park.model_copy(update={"devices": [disabled if d.id == "BESS" else d for d in park.devices]})
    async with ParkSimulator(park, seed=5, start=START, devices=["BESS"]) as sim:
        poller = Poller.from_park(park, device_ids=["BESS"])
        ctl = Controller(park, poller.driver)
        with pytest.raises(ControlDisabled, match=r"control\.enabled"):
            await ctl.set_battery_power("BESS", 5_000)
        battery = sim.device("BESS").model.battery
        assert battery is not None and battery.setpoint_kw == 0.0  # nothing was written
        await poller.stop()
