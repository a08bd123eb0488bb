"""IEC 60870-5-104 client over real sockets, values read back from the store (issue 18).

Two far ends the client code did not produce:

* a 104 server written here directly with the `c104` library, with hand-chosen IOAs, types and
  values and a map typed in this file (not the project's map files);
* the park simulator's outstation serving the grid meter through ``substation_rtu.yaml``; the
  expected values are the simulated meter's own physics (``SimulatedDevice.measure``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable

import c104
import pytest
import yaml

from device_drivers.errors import RegisterMapError
from device_drivers.health import State
from device_drivers.iec104.client import Iec104Client
from device_drivers.iec104.point_map import load_iec104_map, parse_iec104_map
from device_drivers.simulator import ParkSimulator
from device_drivers.simulator.iec104 import Iec104Outstation
from device_drivers.simulator.park import free_port
from ems.park import Park
from ems.store import Store

START = dt.datetime(2026, 6, 21, 4, 0, tzinfo=dt.UTC)
T0 = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
T1 = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)

HAND_MAP = """
name: hand_rtu
common_address: 47
orientation: {meter: 1}
points:
  - {ioa: 7001, type: M_ME_NC_1, quantity: p_kw}
  - {ioa: 7002, type: M_ME_NB_1, quantity: v_v, scale: 2.0}
  - {ioa: 7003, type: M_ME_NA_1, quantity: f_hz, scale: 100.0}
  - {ioa: 7004, type: M_IT_NA_1, quantity: e_out_kwh, scale: 0.1}
  - {ioa: 7005, type: M_ME_TF_1, quantity: q_kvar, scale: 1000.0}
"""


async def _until(cond: Callable[[], bool], why: Callable[[], object] = lambda: "", timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < deadline, f"condition not reached in time: {why()}"
        await asyncio.sleep(0.02)


def _values(store: Store, device: str, quantity: str) -> list[float]:
    return store.raw(device, quantity, T0, T1)[1].tolist()


async def test_client_reads_a_hand_written_c104_server_into_the_store(store: Store, tiny_park: Park) -> None:
    port = free_port()
    server = c104.Server(ip="127.0.0.1", port=port, tick_rate_ms=50)
    st = server.add_station(common_address=47)
    pts = {
        ioa: st.add_point(io_address=ioa, type=t)
        for ioa, t in (
            (7001, c104.Type.M_ME_NC_1),
            (7002, c104.Type.M_ME_NB_1),
            (7003, c104.Type.M_ME_NA_1),
            (7004, c104.Type.M_IT_NA_1),
            (7005, c104.Type.M_ME_TF_1),
        )
    }
    pts[7001].value = 412.5  # kW, scale 1
    pts[7002].value = c104.Int16(5225)  # · 2 V = 10 450 V
    pts[7003].value = c104.NormalizedFloat(0.5)  # · 100 Hz = 50 Hz (0.5 is exact in 16-bit normalized)
    pts[7004].value = 1234567  # · 0.1 kWh = 123 456.7 kWh
    tagged = dt.datetime(2026, 11, 1, 10, 0, 0, 250000)  # CP56Time2a carries ms
    pts[7005].info = c104.ShortInfo(actual=-0.03025, recorded_at=tagged)  # · 1000 = -30.25 kvar
    server.start()
    client = Iec104Client(
        "M_GRID",
        tiny_park.device("M_GRID"),
        parse_iec104_map(yaml.safe_load(HAND_MAP)),
        "127.0.0.1",
        port,
        store,
        interrogation_s=30.0,
        flush_interval_s=0.05,
    )
    try:
        await client.start()
        await _until(
            lambda: client.health.state == State.OK, client.health.snapshot
        )  # GI and counter interrogation confirmed
        pts[7001].value = 399.0
        assert pts[7001].transmit(cause=c104.Cot.SPONTANEOUS)
        await _until(lambda: 399.0 in _values(store, "M_GRID", "p_kw"))
    finally:
        await client.stop()
        server.stop()
    assert _values(store, "M_GRID", "p_kw") == [412.5, 399.0]  # interrogated, then spontaneous
    assert _values(store, "M_GRID", "v_v") == [10450.0]
    assert _values(store, "M_GRID", "f_hz") == [50.0]
    assert _values(store, "M_GRID", "e_out_kwh") == [pytest.approx(123456.7, abs=1e-9)]
    t, v = store.raw("M_GRID", "q_kvar", T0, T1)
    assert v.tolist() == [pytest.approx(-30.25, rel=1e-6)]  # float32 on the wire
    assert t.tolist() == [int(tagged.replace(tzinfo=dt.UTC).timestamp() * 1_000_000)]  # the RTU's time tag
    assert client.stats.rejected == {} and client.stats.sink_errors == 0
    assert client.stats.rejected == {} and client.stats.sink_errors == 0


async def test_client_against_the_simulator_outstation(demo_store: Store, demo_park: Park) -> None:
    sim = ParkSimulator(demo_park, seed=3, speed=0.0, start=START).device("M_GRID")  # frozen clock
    rmap = load_iec104_map("substation_rtu")
    port = free_port()
    async with Iec104Outstation(sim, rmap, port=port, report_s=0.05) as rtu:
        client = Iec104Client(
            "M_GRID", demo_park.device("M_GRID"), rmap, "127.0.0.1", port, demo_store, flush_interval_s=0.05
        )
        await client.start()
        try:
            await _until(lambda: client.health.state == State.OK, client.health.snapshot)
            await client.flush()
            expected = sim.measure()  # the simulator's physics at its frozen time
            assert expected["p_kw"] != 0.0
            # a step on the meter (the park's balance changes) arrives spontaneously
            sim.balance = lambda t: 1250.0  # park injects 1250 kW: the meter reads -1.25 MW (exact in float32)
            await _until(
                lambda: -1250.0 in _values(demo_store, "M_GRID", "p_kw"),
                lambda: (_values(demo_store, "M_GRID", "p_kw"), rtu.spontaneous, client.stats),
            )
            assert rtu.spontaneous >= 1
        finally:
            await client.stop()
    p = _values(demo_store, "M_GRID", "p_kw")
    assert p[0] == pytest.approx(expected["p_kw"], rel=1e-6)  # float32 MW on the wire
    (v,) = _values(demo_store, "M_GRID", "v_v")[:1]
    assert abs(v - expected["v_v"]) <= 5.0  # scaled value, 10 V steps: half a step
    (f,) = _values(demo_store, "M_GRID", "f_hz")[:1]
    assert abs(f - expected["f_hz"]) <= 100.0 * 2**-15  # normalized to 100 Hz: one 16-bit step
    (e,) = _values(demo_store, "M_GRID", "e_out_kwh")[:1]
    assert abs(e - expected["e_out_kwh"]) <= 0.5  # counter in whole kWh


async def test_unreachable_outstation_goes_offline(tiny_park: Park) -> None:
    client = Iec104Client(
        "M_GRID",
        tiny_park.device("M_GRID"),
        load_iec104_map("substation_rtu"),
        "127.0.0.1",
        free_port(),
        interrogation_s=0.05,
        timeout_s=0.2,
    )
    await client.start()
    try:
        await _until(lambda: client.health.consecutive_failures >= 3, client.health.snapshot, timeout_s=15.0)
    finally:
        await client.stop()
    assert client.health.state == State.OFFLINE


def test_map_errors_name_the_problem() -> None:
    bad = yaml.safe_load(HAND_MAP)
    bad["points"][1]["ioa"] = 7001
    bad["points"][2]["quantity"] = "frequency"
    with pytest.raises(RegisterMapError) as exc:
        parse_iec104_map(bad, "x.yaml")
    assert "x.yaml" in str(exc.value) and "frequency" in str(exc.value)
    bad = yaml.safe_load(HAND_MAP)
    bad["points"][1]["ioa"] = 7001
    with pytest.raises(RegisterMapError, match="IOA 7001 appears twice"):
        parse_iec104_map(bad)
