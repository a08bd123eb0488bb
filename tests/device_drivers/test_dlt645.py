"""DL/T 645-2007 meters: frames checked against bytes encoded by hand from the standard, a meter
simulator reached over a real TCP socket and a pty pair, values read back from PostgreSQL.

Every expected frame below is written out byte by byte, derived in its comment from DL/T 645-2007
§ 4.1 (frame), § 7.1 (read data) and § 7.2 (abnormal answer); checksums are summed by hand.
Common to all: meter address 000012345678 is sent low byte first -> 78 56 34 12 00 00, and the
header 68 78 56 34 12 00 00 68 sums to 0x68+0x78+0x56+0x34+0x12+0x68 = 104+120+86+52+18+104 = 484.
"""

from __future__ import annotations

import asyncio
import os
import tty
from collections.abc import AsyncIterator, Iterator

import pytest

from device_drivers.dlt645.data_map import load_data_map, parse_data_map
from device_drivers.dlt645.driver import Dlt645Driver
from device_drivers.dlt645.frame import (
    FrameError,
    MeterRefused,
    decode,
    decode_bcd,
    encode,
    encode_bcd,
    parse_format,
)
from device_drivers.dlt645.link import Dlt645Link
from device_drivers.errors import ConnectionRefused, RegisterMapError
from device_drivers.health import State
from device_drivers.poller import Poller
from device_drivers.simulator.dlt645_meter import MeterBus, SimulatedMeter
from ems.park import Load, Meter, Park
from ems.store import Store

ADDR = "000012345678"
MAP = load_data_map("dlt645_3phase")

# Read request for DI 00 01 00 00 (forward active total energy), four wake-up bytes first:
# FE FE FE FE | 68 78 56 34 12 00 00 68 | C=11 (read data, master -> meter) | L=04 |
# DI0..DI3 = 00 00 01 00, each +0x33 -> 33 33 34 33 |
# CS = 484 + 0x11 + 0x04 + 0x33+0x33+0x34+0x33 = 484 + 17 + 4 + 205 = 710 = 2·256 + 0xC6 -> C6 | 16
READ_ENERGY = bytes.fromhex("FEFEFEFE 68785634120000 68 11 04 33333433 C6 16".replace(" ", ""))

# Normal answer 12345.67 kWh: format XXXXXX.XX -> 8 digits 01234567 -> BCD 01 23 45 67 (MSB first),
# sent low byte first 67 45 23 01, +0x33 -> 9A 78 56 34; C=91 (answer, read data), L=08 (DI + 4);
# CS = 484 + 0x91 + 0x08 + 205 (DI) + 0x9A+0x78+0x56+0x34 = 484+145+8+205+412 = 1254 = 4·256 + 0xE6
ENERGY_ANSWER = bytes.fromhex("68785634120000 68 91 08 33333433 9A785634 E6 16".replace(" ", ""))

# Normal answer -12.3456 kW to DI 02 03 00 00 (total active power), format XX.XXXX with sign bit:
# digits 123456 -> 12 34 56, sign bit on the MSB -> 92 34 56, low byte first 56 34 92, +0x33 -> 89 67 C5;
# DI sent 00 00 03 02 -> 33 33 36 35; C=91, L=07;
# CS = 484 + 145 + 7 + (0x33+0x33+0x36+0x35 = 51+51+54+53 = 209) + (0x89+0x67+0xC5 = 137+103+197 = 437)
#    = 1282 = 5·256 + 0x02
POWER_ANSWER = bytes.fromhex("68785634120000 68 91 07 33333635 8967C5 02 16".replace(" ", ""))

# Abnormal answer, error byte 02 "no requested data" (§ 7.2 bit 1): C=D1, L=01, 02+0x33 -> 35;
# CS = 484 + 0xD1 + 0x01 + 0x35 = 484 + 209 + 1 + 53 = 747 = 2·256 + 0xEB
NO_DATA_ANSWER = bytes.fromhex("68785634120000 68 D1 01 35 EB 16".replace(" ", ""))

# The standard's read-address broadcast (§ 7.6, example widely quoted from it): address AA×6, C=13, L=00;
# CS = 2·0x68 + 6·0xAA + 0x13 = 208 + 1020 + 19 = 1247 = 4·256 + 0xDF
READ_ADDRESS = bytes.fromhex("68AAAAAAAAAAAA681300DF16")


def test_request_frame_is_the_standard_bytes() -> None:
    assert encode(ADDR, 0x11, bytes([0x00, 0x00, 0x01, 0x00])) == READ_ENERGY
    assert encode("AAAAAAAAAAAA", 0x13, b"", wake=0) == READ_ADDRESS
    frame = decode(READ_ENERGY)
    assert (frame.address, frame.control, frame.data) == (ADDR, 0x11, bytes([0, 0, 1, 0]))


def test_answer_frames_decode_to_the_values_they_carry() -> None:
    energy = decode(ENERGY_ANSWER)
    assert (energy.address, energy.control) == (ADDR, 0x91)
    assert energy.data[:4] == bytes([0x00, 0x00, 0x01, 0x00])
    assert decode_bcd(energy.data[4:], parse_format("XXXXXX.XX")) == 12345.67
    power = decode(POWER_ANSWER)
    assert power.data[:4] == bytes([0x00, 0x00, 0x03, 0x02])
    assert decode_bcd(power.data[4:], parse_format("XX.XXXX", signed=True)) == -12.3456
    refused = decode(NO_DATA_ANSWER)
    assert (refused.control, refused.data) == (0xD1, b"\x02")


def test_meter_side_encodes_the_same_bytes() -> None:
    """The simulator's encoder reproduces the hand-encoded answers."""
    assert encode(ADDR, 0x91, bytes([0, 0, 1, 0]) + encode_bcd(12345.67, parse_format("XXXXXX.XX")), 0) == (
        ENERGY_ANSWER
    )
    power = encode_bcd(-12.3456, parse_format("XX.XXXX", signed=True))
    assert encode(ADDR, 0x91, bytes([0, 0, 3, 2]) + power, 0) == POWER_ANSWER


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (ENERGY_ANSWER[:-2] + b"\xe7\x16", "checksum E7 wrong"),  # one off
        (ENERGY_ANSWER[:-1] + b"\x17", "must end with 16"),
        (ENERGY_ANSWER[:-3] + ENERGY_ANSWER[-2:], "L=8 needs 20 bytes"),  # a data byte lost
        (b"\x69" + ENERGY_ANSWER[1:], "must start 68"),
        (ENERGY_ANSWER[:6], "shorter than the minimum"),
    ],
)
def test_broken_frames_are_refused_naming_the_defect(raw: bytes, why: str) -> None:
    with pytest.raises(FrameError, match=why):
        decode(raw)


def test_non_bcd_and_out_of_format_values_are_refused() -> None:
    with pytest.raises(Exception, match="not BCD"):
        decode_bcd(bytes([0x6A, 0x45, 0x23, 0x01]), parse_format("XXXXXX.XX"))
    with pytest.raises(ValueError, match="does not fit"):
        encode_bcd(80.0, parse_format("XX.XXXX", signed=True))  # the sign bit leaves 0..79.9999


def test_map_errors_name_the_point() -> None:
    bad = {"orientation": {"meter": 1}, "points": [{"name": "x", "di": "02 03 00", "format": "XX.XX"},
                                                   {"name": "y", "di": "02 03 00 00", "format": "XX.XX",
                                                    "quantity": "watts"}]}  # fmt: skip
    with pytest.raises(RegisterMapError) as err:
        parse_data_map(bad, "bad.yaml")
    assert "points[0] (x): data identifier must be 4 bytes" in str(err.value)
    assert "points[1] (y): unknown quantity 'watts'" in str(err.value)


# ---------------------------------------------------------------------------------- over a socket


class ScriptedMeter:
    """A TCP peer that answers every request with the next hand-encoded frame (not the simulator)."""

    def __init__(self, answers: list[bytes]) -> None:
        self.answers = list(answers)
        self.requests: list[bytes] = []

    async def start(self) -> int:
        async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while self.answers and (chunk := await reader.read(512)):
                self.requests.append(chunk)
                writer.write(self.answers.pop(0))
                await writer.drain()
            writer.close()

        self.server = await asyncio.start_server(client, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])


def _meter(device_type: str = "meter", **conn: object) -> Meter | Load:
    connection = {"kind": "dlt645_tcp", "host": "127.0.0.1", "port": 1, "address": ADDR, **conn}
    if device_type == "meter":
        return Meter(id="M1", bus="b", p_rated_kw=60, connection=connection)  # type: ignore[arg-type]
    return Load(id="L1", bus="b", p_peak_kw=60, connection=connection)  # type: ignore[arg-type]


async def test_driver_reads_hand_encoded_answers_over_tcp() -> None:
    """Energy, then power; the request bytes on the wire are the hand-encoded ones."""
    only = parse_data_map(
        {"orientation": {"meter": 1}, "points": [
            {"name": "e", "di": "00 01 00 00", "format": "XXXXXX.XX", "quantity": "e_out_kwh"},
            {"name": "p", "di": "02 03 00 00", "format": "XX.XXXX", "signed": True, "quantity": "p_kw"}]})  # fmt: skip
    peer = ScriptedMeter([ENERGY_ANSWER, POWER_ANSWER])
    link = Dlt645Link.tcp("127.0.0.1", await peer.start())
    readings, garbage = await Dlt645Driver("M1", _meter(), only, link, ADDR).read()
    await link.close()
    peer.server.close()
    assert peer.requests[0] == READ_ENERGY
    assert [(r.quantity, r.value, r.quality) for r in readings] == [("e_out_kwh", 12345.67, 0), ("p_kw", -12.3456, 0)]
    assert garbage == 0


async def test_answer_without_the_0x33_offset_is_refused() -> None:
    """A meter (or gateway) that forgets the +0x33: same frame with DATA raw and the checksum redone.

    DATA 00 00 01 00 67 45 23 01; CS = 484 + 0x91 + 0x08 + 0x01 + (0x67+0x45+0x23+0x01 = 103+69+35+1 = 208)
    = 846 = 3·256 + 0x4E. Taken minus 0x33 the DI reads CD CD CE CD: not the DI asked for.
    """
    raw = bytes.fromhex("68785634120000 68 91 08 00000100 67452301 4E 16".replace(" ", ""))
    assert decode(raw).data[:4] == bytes([0xCD, 0xCD, 0xCE, 0xCD])
    peer = ScriptedMeter([raw, raw])  # one retry after the broken frame
    link = Dlt645Link.tcp("127.0.0.1", await peer.start())
    with pytest.raises(FrameError, match="asked DI 00 01 00 00, meter 000012345678 answered DI CD CE CD CD"):
        await Dlt645Driver("M1", _meter(), MAP, link, ADDR).read()
    await link.close()
    peer.server.close()


async def test_abnormal_answers() -> None:
    """'No requested data' skips that DI for good; 'password wrong' (error byte 04) fails the poll."""
    # error 04: C=D1, L=01, 04+0x33 = 37; CS = 484 + 209 + 1 + 0x37 (55) = 749 = 2·256 + 0xED
    password = bytes.fromhex("68785634120000 68 D1 01 37 ED 16".replace(" ", ""))
    only = parse_data_map(
        {"orientation": {"meter": 1}, "points": [
            {"name": "e", "di": "00 01 00 00", "format": "XXXXXX.XX", "quantity": "e_out_kwh"},
            {"name": "p", "di": "02 03 00 00", "format": "XX.XXXX", "signed": True, "quantity": "p_kw"}]})  # fmt: skip
    peer = ScriptedMeter([NO_DATA_ANSWER, POWER_ANSWER, POWER_ANSWER, password])
    link = Dlt645Link.tcp("127.0.0.1", await peer.start())
    driver = Dlt645Driver("M1", _meter(), only, link, ADDR)
    first, _ = await driver.read()
    assert [(r.quantity, r.value) for r in first] == [("p_kw", -12.3456)]
    assert list(driver.unsupported) == ["00 01 00 00"] and "no requested data" in driver.unsupported["00 01 00 00"]
    second, _ = await driver.read()  # energy no longer asked
    assert [(r.quantity, r.value) for r in second] == [("p_kw", -12.3456)]
    with pytest.raises(MeterRefused, match=r"password wrong or not authorised \(error byte 0x04\)") as err:
        await driver.read()
    assert err.value.error == 0x04
    await link.close()
    peer.server.close()


# ---------------------------------------------------------------------------------- simulator, poller, store

# Native values the simulated meter serves (forward = import); expected readings derived by hand:
# a grid meter (orientation +1) keeps them; a load's meter (-1) negates power and swaps the counters.
SERVED = {"forward_active_energy": 8765.43, "reverse_active_energy": 12.5, "total_active_power": 42.1234,
          "total_reactive_power": -3.5, "phase_a_voltage": 230.0 * 3**0.5, "grid_frequency": 50.02}  # fmt: skip


@pytest.fixture
def dlt_park(tiny_park: Park) -> Iterator[tuple[Park, MeterBus]]:
    yield tiny_park, MeterBus([SimulatedMeter(ADDR, MAP, SERVED), SimulatedMeter("000000000002", MAP, SERVED)])


def _with_connections(park: Park, port: int) -> Park:
    devices = []
    for d in park.devices:
        if d.id == "M_GRID":
            d = d.model_copy(update={"connection": _meter(port=port).connection})
        elif d.id == "LOAD1":
            d = d.model_copy(update={"connection": _meter("load", port=port, address="000000000002").connection})
        devices.append(d)
    return park.model_copy(update={"devices": devices})


@pytest.fixture
async def sim_tcp(dlt_park: tuple[Park, MeterBus]) -> AsyncIterator[tuple[Park, MeterBus]]:
    park, bus = dlt_park
    port = await bus.serve_tcp()
    yield _with_connections(park, port), bus
    await bus.stop()


async def test_poll_over_tcp_lands_in_the_store(sim_tcp: tuple[Park, MeterBus], fresh_db_url: str) -> None:
    park, bus = sim_tcp
    store = Store.connect(fresh_db_url, park)
    try:
        poller = Poller.from_park(park, sink=store, interval_s=0.2, flush_interval_s=0.1)
        assert sorted(poller.devices) == ["LOAD1", "M_GRID"]  # the gateway devices are pushed, not polled
        await poller.run(0.5)
        with store.connection() as conn:
            rows = conn.execute(
                """SELECT DISTINCT d.device_id, q.name, t.value, t.quality FROM telemetry t
                   JOIN device d USING (device_key) JOIN quantity q USING (quantity_id)"""
            ).fetchall()
    finally:
        store.close()
    assert all(h["state"] == "ok" for h in poller.health()), poller.health()
    got = {(dev, q): v for dev, q, v, quality in rows if quality == 0}
    expected = {
        ("M_GRID", "e_out_kwh"): 8765.43, ("M_GRID", "e_in_kwh"): 12.5, ("M_GRID", "p_kw"): 42.1234,
        ("M_GRID", "q_kvar"): -3.5, ("M_GRID", "f_hz"): 50.02,
        ("LOAD1", "e_in_kwh"): 8765.43, ("LOAD1", "e_out_kwh"): 12.5, ("LOAD1", "p_kw"): -42.1234,
        ("LOAD1", "q_kvar"): 3.5, ("LOAD1", "f_hz"): 50.02,
    }  # fmt: skip
    assert {k: got[k] for k in expected} == pytest.approx(expected, abs=1e-9)
    # 230.0 V phase-to-neutral is served as XXX.X -> 230.0, times √3 -> the line-to-line 398.37 V
    assert got[("M_GRID", "v_v")] == pytest.approx(230.0 * 3**0.5, abs=1e-9)
    assert poller.stats.rejected == {}
    assert bus.meters[ADDR].requests >= 6


async def test_a_meter_that_stops_answering_goes_offline(sim_tcp: tuple[Park, MeterBus]) -> None:
    park, bus = sim_tcp
    fast = park.device("M_GRID").connection.model_copy(update={"timeout_s": 0.2})
    park = park.model_copy(
        update={"devices": [d.model_copy(update={"connection": fast}) if d.id == "M_GRID" else d for d in park.devices]}
    )
    poller = Poller.from_park(park, device_ids=["M_GRID"], interval_s=0.05)
    d = poller.devices["M_GRID"]
    await poller.poll_once(d)
    assert d.health.state == State.OK and d.health.last_ok is not None
    bus.meters.pop(ADDR)  # silent from now on
    for _ in range(3):
        await poller.poll_once(d)
    assert d.health.state == State.OFFLINE and "no answer" in d.health.last_error
    for link in poller.transports.values():
        await link.close()


async def test_nothing_listening_is_refused() -> None:
    link = Dlt645Link.tcp("127.0.0.1", 1)
    with pytest.raises(ConnectionRefused):
        await Dlt645Driver("M1", _meter(), MAP, link, ADDR).read()


async def test_serial_line_over_a_pty_pair() -> None:
    """The serial path (pyserial on the pty's slave end, 2400 8E1) against the simulator on the master end."""
    master, slave = os.openpty()
    tty.setraw(master)
    bus = MeterBus([SimulatedMeter(ADDR, MAP, SERVED)])
    bus.serve_fd(master)
    link = Dlt645Link.serial(os.ttyname(slave), timeout_s=1.0)
    try:
        readings, garbage = await Dlt645Driver("M1", _meter(), MAP, link, ADDR).read()
    finally:
        await link.close()
        await bus.stop()
        os.close(master)
        os.close(slave)
    got = {r.quantity: r.value for r in readings}
    assert garbage == 0 and got["p_kw"] == pytest.approx(42.1234) and got["e_out_kwh"] == pytest.approx(8765.43)


def test_park_file_validates_the_meter_address() -> None:
    with pytest.raises(ValueError, match="address"):
        _meter(address="12345")
