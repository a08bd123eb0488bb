"""IEC 104 stations declared in the park file (issue 18): checked by `ems park check`, received by the
poller into its write-ahead journal and delivered to the store like Modbus readings.

The far end is a 104 server written here with `c104` itself, with a map typed in this file; the
values read back from the store are the ones set on that server.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import c104
import pytest

from device_drivers.health import State
from device_drivers.inspect import check_park_maps
from device_drivers.poller import Poller
from device_drivers.simulator.park import free_port
from device_drivers.spool import Spool
from ems.park import Iec104Tcp, Park
from ems.store import Store
from tests.device_drivers.helpers import wait_for

T0 = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
T1 = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
HAND_MAP = """
name: hand_rtu
common_address: 1
orientation: {meter: 1}
points:
  - {ioa: 7001, type: M_ME_NC_1, quantity: p_kw}
  - {ioa: 7002, type: M_ME_NB_1, quantity: v_v, scale: 2.0}
  - {ioa: 7004, type: M_IT_NA_1, quantity: e_out_kwh, scale: 0.1}
"""


def with_station(park: Park, device: str, conn: Iec104Tcp) -> Park:
    devices = [d.model_copy(update={"connection": conn}) if d.id == device else d for d in park.devices]
    return park.model_copy(update={"devices": devices})


@pytest.fixture
def rtu() -> Iterator[tuple[int, dict[int, c104.Point]]]:
    """A 104 server at common address 47 (the park file overrides the map's 1): 412.5 kW, 10 450 V, 123 456.7 kWh."""
    port = free_port()
    server = c104.Server(ip="127.0.0.1", port=port, tick_rate_ms=50)
    st = server.add_station(common_address=47)
    assert st is not None
    types = {7001: c104.Type.M_ME_NC_1, 7002: c104.Type.M_ME_NB_1, 7004: c104.Type.M_IT_NA_1}
    pts = {ioa: st.add_point(io_address=ioa, type=t) for ioa, t in types.items()}
    pts[7001].value = 412.5
    pts[7002].value = c104.Int16(5225)  # · 2 V
    pts[7004].value = 1234567  # · 0.1 kWh
    server.start()
    yield port, pts  # type: ignore[misc]
    server.stop()


async def test_station_in_the_park_file_is_journaled_then_stored(
    store: Store, tiny_park: Park, tmp_path: Path, rtu: tuple[int, dict[int, c104.Point]]
) -> None:
    port, pts = rtu
    (tmp_path / "hand_rtu.yaml").write_text(HAND_MAP)
    conn = Iec104Tcp(host="127.0.0.1", port=port, point_map=str(tmp_path / "hand_rtu.yaml"), common_address=47)
    park = with_station(tiny_park, "M_GRID", conn)
    assert check_park_maps(park) == []
    journal = Spool(tmp_path / "poller.sqlite", durable=True)

    # the database "down": no sink, everything received goes to the journal only
    first = Poller.from_park(park, device_ids=["M_GRID"], journal=journal, flush_interval_s=0.05)
    assert not first.devices and [c.device_id for c in first.pushers] == ["M_GRID"]
    await first.start()
    await wait_for(lambda: len(journal) >= 3, 8.0, "three readings journaled")
    await first.stop()
    assert store.raw("M_GRID", "p_kw", T0, T1)[1].tolist() == []
    journaled = len(journal)

    # restarted with the store: the journal is delivered, then a spontaneous change arrives
    second = Poller.from_park(park, sink=store, device_ids=["M_GRID"], journal=journal, flush_interval_s=0.05)
    await second.start()
    try:
        await wait_for(lambda: second.state_of("M_GRID") == State.OK, 8.0, "the station healthy")
        pts[7001].value = 399.0
        assert pts[7001].transmit(cause=c104.Cot.SPONTANEOUS)
        await wait_for(lambda: 399.0 in store.raw("M_GRID", "p_kw", T0, T1)[1].tolist(), 8.0, "the spontaneous 399 kW")
    finally:
        await second.stop()
    p = store.raw("M_GRID", "p_kw", T0, T1)[1].tolist()
    assert p[0] == 412.5 and p[-1] == 399.0 and set(p) == {412.5, 399.0}
    assert set(store.raw("M_GRID", "v_v", T0, T1)[1].tolist()) == {10450.0}
    assert store.raw("M_GRID", "e_out_kwh", T0, T1)[1].tolist()[0] == pytest.approx(123456.7, abs=1e-9)
    assert second.stats.delivered >= journaled and len(journal) == 0
    assert [h["device"] for h in second.health()] == ["M_GRID"]
    journal.close()


def test_park_check_names_a_bad_104_map(tiny_park: Park, tmp_path: Path) -> None:
    missing = with_station(tiny_park, "M_GRID", Iec104Tcp(host="h", point_map="no_such_rtu"))
    (problem,) = check_park_maps(missing)
    i = [d.id for d in tiny_park.devices].index("M_GRID")
    assert problem.startswith(f"devices[{i}] (M_GRID).connection.point_map: ") and "no_such_rtu" in problem
    pv = next(d for d in tiny_park.devices if d.type == "pv")
    wrong = with_station(tiny_park, pv.id, Iec104Tcp(host="h"))
    (problem,) = check_park_maps(wrong)
    assert "104 map 'substation_rtu' is for meter devices, not pv" in problem
