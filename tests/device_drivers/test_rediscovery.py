"""A device that changes under a running poller is discovered again (issue 13).

The device images are built from the official SunSpec JSON (``sunspec_defs``), not from the
project's maps. A "firmware update" is the device's server stopped and started again on the
same port with another image, between two reads of one driver.
"""

from __future__ import annotations

import pytest

from device_drivers.device import DeviceDriver
from device_drivers.register_map import load_map
from device_drivers.transport import ModbusTransport
from ems.park import Park
from tests.device_drivers.servers import serve_registers
from tests.device_drivers.sunspec_defs import chain, model_registers

COMMON = model_registers(1, {"Mn": "Vendor", "Md": "PV-50", "SN": "42"})
VENDOR = [64001, 10, *[0] * 10]  # an unknown vendor model: 12 registers


def _701(w: int | None, sf: int = 1) -> list[int]:
    values = {"ACType": 2, "W_SF": sf} | ({} if w is None else {"W": w})
    return model_registers(701, values)


async def _reads(park: Park, images: list[list[int]]) -> tuple[DeviceDriver, list[dict[str, float]]]:
    """One driver reading each image in turn, the device "restarted" with the next image in between."""
    transport: ModbusTransport | None = None
    driver: DeviceDriver | None = None
    got: list[dict[str, float]] = []
    port = None
    for image in images:
        async with serve_registers([(40000, image)], port=port) as port:
            if transport is None:
                transport = ModbusTransport.tcp("127.0.0.1", port)
                driver = DeviceDriver("PV1", park.device("PV1"), load_map("sunspec_inverter"), transport)
            assert driver is not None
            readings, _ = await driver.read()
            got.append({r.quantity: r.value for r in readings})
    assert transport is not None and driver is not None
    await transport.close()
    return driver, got


async def test_a_model_moved_by_an_inserted_model_is_found_again(tiny_park: Park) -> None:
    # 701 at 40070 first; then a vendor model before it moves it 12 registers on, where the old
    # addresses would decode the vendor model's zeros and 701's header as measurements
    driver, got = await _reads(tiny_park, [chain([COMMON, _701(4321)]), chain([COMMON, VENDOR, _701(1234)])])
    assert got[0]["p_kw"] == pytest.approx(43.21) and got[1]["p_kw"] == pytest.approx(12.34)
    assert driver.rediscoveries == 1 and "model 701" in driver.last_rediscovery
    assert driver.model_at["der_measurements"].address == 40002 + len(COMMON) + len(VENDOR)


async def test_a_vanished_model_falls_back_to_the_older_one(tiny_park: Park) -> None:
    # a firmware "downgrade" serving 103 where 701 was: read from 103, the map's fallback for the role
    m103 = model_registers(103, {"W": 2000, "W_SF": 0})
    driver, got = await _reads(tiny_park, [chain([COMMON, _701(4321)]), chain([COMMON, m103])])
    assert got[1]["p_kw"] == pytest.approx(2.0)
    assert driver.models_used["inverter"] == 103 and "der_measurements" not in driver.models_used
    assert driver.rediscoveries == 1 and "exception code 2" in driver.last_rediscovery  # the old block is refused


async def test_a_required_point_gone_not_implemented_rediscovers_once(tiny_park: Park) -> None:
    image = chain([COMMON, _701(4321)])
    gone = chain([COMMON, _701(None)])  # same chain, W now "not implemented"
    driver, got = await _reads(tiny_park, [image, gone, gone, image])
    assert got[0]["p_kw"] == pytest.approx(43.21)
    assert "p_kw" not in got[1] and "p_kw" not in got[2]  # no stale or zero power stored
    assert driver.rediscoveries == 1 and "der_measurements.W" in driver.last_rediscovery  # not once per poll
    assert got[3]["p_kw"] == pytest.approx(43.21)
