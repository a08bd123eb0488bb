"""SunSpec discovery and block reads against a server laid out like a real SunSpec inverter.

The register layout is written out by hand here (not by the simulator): marker,
common model with strings, inverter 103, nameplate 120, settings 121, immediate
controls 123, MPPT 160, end marker. Addresses are hand-computed: a model at A with
length L is followed by the next model at A + 2 + L.
"""

from __future__ import annotations

import pytest

from device_drivers.blocks import Block, plan_blocks
from device_drivers.device import DeviceDriver
from device_drivers.errors import DiscoveryError, RegisterMapError
from device_drivers.register_map import load_map, parse_map
from device_drivers.sunspec import discover
from device_drivers.transport import ModbusTransport
from ems.park import Park
from tests.device_drivers.servers import serve_registers


def _model(model_id: int, length: int, body: dict[int, int] | None = None) -> list[int]:
    regs = [model_id, length] + [0] * length
    for offset, value in (body or {}).items():
        regs[offset] = value & 0xFFFF
    return regs


def _string(text: str, n_regs: int) -> dict[int, int]:
    raw = text.encode().ljust(2 * n_regs, b"\0")
    return {i: int.from_bytes(raw[2 * i : 2 * i + 2], "big") for i in range(n_regs)}


def real_inverter_layout() -> list[int]:
    common = {2 + i: v for i, v in _string("SunSpecSim", 16).items()}  # Mn at offset 2..17
    inverter = {
        2: 1234,
        6: -1,  # A = 1234 · 10^-1 = 123.4 A
        7: 4000,
        13: -1,  # PPVphAB = 400.0 V
        14: 4321,
        15: 1,  # W = 4321 · 10 = 43 210 W = 43.21 kW
        16: 5001,
        17: -2,  # Hz = 50.01
        20: -500,
        21: 0,  # VAr = -500 var = -0.5 kvar
        24: 123456789 >> 16,
        25: 123456789 & 0xFFFF,
        26: 0,  # WH = 123 456 789 Wh
        33: 456,
        37: -1,  # TmpCab = 45.6 °C
    }
    return [
        *[0x5375, 0x6E53],  # "SunS" at 40000
        *_model(1, 66, common),  # 40002
        *_model(103, 50, inverter),  # 40070
        *_model(120, 26),  # 40122
        *_model(121, 30),  # 40150
        *_model(123, 24, {5: 7500, 23: -2}),  # 40182: WMaxLimPct = 75.00 %
        *_model(160, 48),  # 40208
        *[0xFFFF, 0],  # 40258
    ]


async def test_discovery_walks_the_model_chain() -> None:
    async with serve_registers([(40000, real_inverter_layout())]) as port:
        tr = ModbusTransport.tcp("127.0.0.1", port)
        layout = await discover(tr, 1)
        assert {m: loc.address for m, loc in layout.items()} == {
            1: 40002,
            103: 40070,
            120: 40122,
            121: 40150,
            123: 40182,
            160: 40208,
        }
        assert layout[103].length == 50
        assert tr.requests == 1 + 7  # marker + six model headers + end marker
        await tr.close()


@pytest.mark.parametrize("base", [50000, 0])
async def test_discovery_probes_the_other_bases(base: int) -> None:
    async with serve_registers([(base, real_inverter_layout())]) as port:
        tr = ModbusTransport.tcp("127.0.0.1", port)
        layout = await discover(tr, 1)
        assert layout[103].address == base + 70
        await tr.close()


async def test_no_marker_is_a_discovery_error() -> None:
    async with serve_registers([(40000, [0] * 10)]) as port:
        tr = ModbusTransport.tcp("127.0.0.1", port)
        with pytest.raises(DiscoveryError, match="no SunSpec marker"):
            await discover(tr, 1)
        await tr.close()


async def test_inverter_map_reads_values_with_scale_factors(tiny_park: Park) -> None:
    async with serve_registers([(40000, real_inverter_layout())]) as port:
        tr = ModbusTransport.tcp("127.0.0.1", port)
        driver = DeviceDriver("PV1", tiny_park.device("PV1"), load_map("sunspec_inverter"), tr)
        readings, garbage = await driver.read()
        got = {r.quantity: r.value for r in readings}
        assert garbage == 0
        # no 704: falls back to 123; 160 is read, but its N = 0 says none of the 2 modules its L holds is in use
        assert driver.models_used == {"common": 1, "inverter": 103, "immediate_controls": 123, "mppt": 160}
        assert driver.copies == {"mppt": 0}
        assert not any(q.startswith("dc_") for q in got)
        assert got["p_kw"] == pytest.approx(43.21)
        assert got["f_hz"] == pytest.approx(50.01)
        assert got["i_a"] == pytest.approx(123.4)
        assert got["v_v"] == pytest.approx(400.0)
        assert got["q_kvar"] == pytest.approx(-0.5)
        assert got["e_out_kwh"] == pytest.approx(123456.789)
        assert got["temp_c"] == pytest.approx(45.6)
        assert got["p_limit_pct"] == pytest.approx(75.0)
        # 103's header (ID, L: checked on every read) and points span 40070..40107; model 123's header is
        # at 40182 and its WMaxLimPct at 40187, within the map's max gap of 100: one block 40070..40187
        # (118 registers). Its scale factor at 40205 would make the block 136 > 125 registers long: a second block
        assert [(b.address, b.count) for b in driver.blocks] == [(40070, 118), (40205, 1)]
        await tr.close()


async def test_small_max_block_splits_reads(tiny_park: Park) -> None:
    async with serve_registers([(40000, real_inverter_layout())]) as port:
        tr = ModbusTransport.tcp("127.0.0.1", port)
        driver = DeviceDriver("PV1", tiny_park.device("PV1"), load_map("sunspec_inverter"), tr, max_block_registers=20)
        await driver.locate()
        before = tr.requests
        await driver.read()
        # 103's header and offsets 2..17 (Hz_SF) fill 18 of 20 registers (VAr at 20 would make 21); VAr..TmpCab_SF
        # (offsets 20..37) the next 18; model 123's header (40182) with WMaxLimPct (40187): 6; its scale
        # factor at 40205 would make that block 24 long: a fourth
        assert [(b.address, b.count) for b in driver.blocks] == [(40070, 18), (40090, 18), (40182, 6), (40205, 1)]
        assert tr.requests - before == 4
        await tr.close()


async def test_missing_required_model(tiny_park: Park) -> None:
    async with serve_registers([(40000, real_inverter_layout())]) as port:
        tr = ModbusTransport.tcp("127.0.0.1", port)
        driver = DeviceDriver("M_GRID", tiny_park.device("M_GRID"), load_map("sunspec_meter"), tr)
        with pytest.raises(DiscoveryError, match="meter: one of 203, 204, 201, 202"):
            await driver.read()
        await tr.close()


def test_plan_blocks_by_hand() -> None:
    spans = [(3, 0, 2), (3, 2, 1), (3, 10, 2), (3, 40, 1), (4, 0, 1)]
    # gap 3..9 (7 registers) is bridged, gap 12..39 (28) is not; function 4 is separate
    assert plan_blocks(spans, 125, 16) == [Block(3, 0, 12), Block(3, 40, 1), Block(4, 0, 1)]
    assert plan_blocks(spans, 5, 16) == [Block(3, 0, 3), Block(3, 10, 2), Block(3, 40, 1), Block(4, 0, 1)]
    assert plan_blocks(spans, 125, 0) == [Block(3, 0, 3), Block(3, 10, 2), Block(3, 40, 1), Block(4, 0, 1)]


def test_map_errors_name_every_problem() -> None:
    bad = {
        "name": "bad",
        "kind": "plain",
        "orientation": {"pv": 1},
        "points": [
            {"name": "a", "address": 0, "type": "u17"},
            {"name": "b", "address": 1, "type": "u16", "quantity": "p_mw"},
            {"name": "c", "address": 2, "type": "u16", "sf": "b"},
            {"name": "d", "address": 3, "type": "u16", "scael": 2},
        ],
    }
    with pytest.raises(RegisterMapError) as err:
        parse_map(bad, "bad.yaml")
    msg = str(err.value)
    assert "points[0].type: unknown data type 'u17'" in msg
    assert "points[1].quantity: unknown quantity 'p_mw'" in msg
    assert "c.sf: 'b' is not a sunssf point" in msg
    assert "points[3]: unknown key(s) ['scael']" in msg


def test_builtin_maps_load_and_unknown_name_lists_them() -> None:
    for name in ("sunspec_inverter", "sunspec_meter", "sunspec_storage", "generic_wind"):
        assert load_map(name).name == name
    with pytest.raises(RegisterMapError, match="built-in maps: generic_wind, sunspec_inverter"):
        load_map("sunspec_pump")


def test_a_power_point_in_the_wrong_unit_is_refused() -> None:
    """A setpoint clamped to 200 kW would be written as raw 200 into a register marked MW (scale 1): 200 MW. The
    unit a point gives, after its scale, must be its quantity's (degC for °C is accepted); none given is refused."""
    base = {"name": "units", "kind": "plain", "orientation": {"battery": 1}}
    points = [
        {"name": "setpoint", "address": 0, "type": "s32", "unit": "MW", "quantity": "p_setpoint_kw", "writable": True},
        {"name": "power", "address": 2, "type": "s32", "scale": 1, "unit": "W", "quantity": "p_kw"},
        {"name": "soc", "address": 4, "type": "u16", "quantity": "soc_pct"},
        {"name": "temp", "address": 5, "type": "s16", "scale": 0.1, "unit": "degC", "quantity": "temp_c"},
    ]
    with pytest.raises(RegisterMapError) as err:
        parse_map({**base, "points": points}, "units.yaml")
    msg = str(err.value)
    assert "points[0].unit: unit 'MW': this point feeds a quantity in kW" in msg
    assert "points[1].unit: unit 'W'" in msg and "points[2].unit: unit None" in msg and "points[3]" not in msg
    fixed = [
        {**points[0], "unit": "kW"},
        {**points[1], "scale": 0.001, "unit": "kW"},
        {**points[2], "unit": "%"},
        points[3],
    ]
    assert parse_map({**base, "points": fixed}, "units.yaml").name == "units"
