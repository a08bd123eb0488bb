"""Every data type and word/byte order, over a real Modbus TCP socket.

The server's registers are generated from a register map by the project's encoder;
the expected registers and values are derived independently here with ``struct``
(little-endian formats give the reversed byte order, from which the mixed orders follow).
"""

from __future__ import annotations

import math
import struct

import pytest

from device_drivers.codec import decode, encode, is_not_implemented
from device_drivers.device import DeviceDriver
from device_drivers.register_map import parse_map
from device_drivers.simulator.image import RegisterImage
from device_drivers.transport import ModbusTransport
from ems.park import Park
from tests.device_drivers.servers import serve_registers

# (type, struct format without byte order, value chosen to use every byte)
CASES = [
    ("u16", "H", 51234),
    ("s16", "h", -12345),
    ("u32", "I", 3_000_000_123),
    ("s32", "i", -1_234_567_890),
    ("u64", "Q", 12_345_678_901_234_567_890),
    ("f32", "f", -1234.5),  # exactly representable in binary32
    ("sunssf", "h", -3),
]
ORDERS = [("big", "big"), ("little", "big"), ("big", "little"), ("little", "little")]


def words_by_hand(fmt: str, value: float, word_order: str, byte_order: str) -> list[int]:
    """ABCD / CDAB / BADC / DCBA from struct's big- and little-endian packings."""
    big = struct.pack(">" + fmt, value)  # A B C D ...
    little = struct.pack("<" + fmt, value)  # ... D C B A
    if (word_order, byte_order) == ("big", "big"):
        raw = big
    elif (word_order, byte_order) == ("little", "little"):
        raw = little
    elif (word_order, byte_order) == ("big", "little"):  # B A D C: each word of ABCD byte-swapped
        raw = b"".join(big[i : i + 2][::-1] for i in range(0, len(big), 2))
    else:  # C D A B: each word of DCBA byte-swapped
        raw = b"".join(little[i : i + 2][::-1] for i in range(0, len(little), 2))
    return [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]


def test_hand_derivation_matches_known_example() -> None:
    # 0x12345678 as u32 in the four orders, written out by hand
    assert words_by_hand("I", 0x12345678, "big", "big") == [0x1234, 0x5678]
    assert words_by_hand("I", 0x12345678, "little", "big") == [0x5678, 0x1234]
    assert words_by_hand("I", 0x12345678, "big", "little") == [0x3412, 0x7856]
    assert words_by_hand("I", 0x12345678, "little", "little") == [0x7856, 0x3412]


@pytest.mark.parametrize(("word_order", "byte_order"), ORDERS)
@pytest.mark.parametrize(("dtype", "fmt", "value"), CASES)
def test_encode_decode_against_struct(dtype: str, fmt: str, value: float, word_order: str, byte_order: str) -> None:
    expected = words_by_hand(fmt, value, word_order, byte_order)
    assert encode(value, dtype, word_order, byte_order) == expected  # type: ignore[arg-type]
    assert decode(expected, dtype, word_order, byte_order) == value  # type: ignore[arg-type]


def test_out_of_range_value_is_refused_not_wrapped() -> None:
    with pytest.raises(ValueError, match="does not fit u16"):
        encode(70000, "u16")
    with pytest.raises(ValueError, match="does not fit s16"):
        encode(-40000, "s16")


def test_sunspec_sentinels() -> None:
    assert is_not_implemented(decode([0x8000], "s16"), "s16")
    assert is_not_implemented(decode([0xFFFF], "u16"), "u16")
    assert is_not_implemented(decode([0x8000, 0x0000], "s32"), "s32")
    assert is_not_implemented(decode([0x7FC0, 0x0000], "f32"), "f32")  # a quiet NaN
    assert not is_not_implemented(decode([0x7FFF], "s16"), "s16")


def _all_types_map() -> dict[str, object]:
    points = []
    addr = 0
    for wo, bo in ORDERS:
        for dtype, _, _ in CASES:
            points.append(
                {"name": f"{dtype}_{wo}_{bo}", "address": addr, "type": dtype, "word_order": wo, "byte_order": bo}
            )
            addr += {"u16": 1, "s16": 1, "sunssf": 1, "u32": 2, "s32": 2, "f32": 2, "u64": 4}[dtype]
    return {"name": "all_types", "kind": "plain", "orientation": {"pv": 1}, "max_gap_registers": 0, "points": points}


async def test_every_type_and_order_over_modbus_tcp(demo_park: Park) -> None:
    rmap = parse_map(_all_types_map())
    image = RegisterImage(rmap)
    for wo, bo in ORDERS:
        for dtype, _, value in CASES:
            image.set_raw(f"{dtype}_{wo}_{bo}", value)  # the project's encoder lays out the server
    async with serve_registers([(image.start, image.regs)]) as port:
        transport = ModbusTransport.tcp("127.0.0.1", port, timeout_s=2.0)
        driver = DeviceDriver("PV_CELLS", demo_park.device("PV_CELLS"), rmap, transport, max_block_registers=125)
        await driver.locate()
        regs = await driver.read_points(list(driver.points))
        # 40 contiguous registers -> one request (block read)
        assert transport.requests == 1
        for wo, bo in ORDERS:
            for dtype, fmt, value in CASES:
                key = f"{dtype}_{wo}_{bo}"
                loc = driver.points[key]
                on_wire = [regs[(3, loc.address + i)] for i in range(loc.point.count)]
                assert on_wire == words_by_hand(fmt, value, wo, bo), key
                got = driver.value_of(key, regs)
                assert got is not None
                assert math.isclose(got, float(value), rel_tol=0, abs_tol=0), key
        await transport.close()
