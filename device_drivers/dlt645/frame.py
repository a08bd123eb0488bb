"""DL/T 645-2007 frames and data formats (multi-function watt-hour meter communication protocol).

Frame (DL/T 645-2007 § 4.1)::

    [FE FE FE FE]  68  A0 A1 A2 A3 A4 A5  68  C  L  DATA[L]  CS  16

* leading ``FE`` bytes wake the receiver up (any number, usually four) and are not part of the frame;
* the address is 12 BCD digits sent low byte first (meter 123456789012 -> ``12 90 78 56 34 12``);
* C: bit 7 direction (1 = the meter's answer), bit 6 abnormal answer, bit 5 a follow-up frame
  exists, bits 4..0 the function (0x11 read data);
* every DATA byte is sent plus 0x33 (mod 256) and taken minus 0x33 on receipt;
* CS is the sum modulo 256 of every byte from the first 68 to the last DATA byte.

A read request's DATA is the data identifier DI3 DI2 DI1 DI0 sent low byte first; the normal answer
(C = 0x91) repeats the DI and appends the value, the abnormal answer (C = 0xD1) carries one error
byte (§ 7.2: bit 0 other error, bit 1 no requested data, bit 2 password wrong / unauthorised, …).

Values are BCD, low byte first, in the formats of the standard's appendix A written as there
(``XXXXXX.XX`` kWh: 8 digits, 2 decimals). In signed formats (power, current, power factor)
the top bit of the most significant byte is the sign (1 = negative, i.e. reverse direction).
"""

from __future__ import annotations

from dataclasses import dataclass

from device_drivers.errors import DeviceError, GarbageValue, TransportError

START = 0x68
END = 0x16
WAKE = 0xFE
OFFSET = 0x33
READ_DATA = 0x11
RESPONSE = 0x80  # C bit 7: sent by the meter
ABNORMAL = 0x40  # C bit 6: the meter refuses the request
FOLLOW_UP = 0x20  # C bit 5: more frames follow
HEADER_LEN = 10  # 68 + address + 68 + C + L
ERROR_BITS = (
    "other error",
    "no requested data",
    "password wrong or not authorised",
    "baud rate cannot be changed",
    "too many annual time zones",
    "too many daily time slots",
    "too many tariffs",
)


class FrameError(TransportError):
    """Bytes that are not a valid DL/T 645 frame (start/end byte, length, checksum)."""


class MeterRefused(DeviceError):
    """The meter answered abnormally (C bit 6) with an error byte (DL/T 645-2007 § 7.2)."""

    def __init__(self, message: str, error: int, device: str = "") -> None:
        super().__init__(f"{message}: {describe_error(error)} (error byte 0x{error:02X})", device)
        self.error = error


def describe_error(error: int) -> str:
    names = [name for bit, name in enumerate(ERROR_BITS) if error >> bit & 1]
    return ", ".join(names) or "no error bit set"


@dataclass(frozen=True)
class Frame:
    address: str  # 12 digits, most significant first, as on the nameplate
    control: int
    data: bytes  # after removing the 0x33 offset

    @property
    def function(self) -> int:
        return self.control & 0x1F


def address_bytes(address: str) -> bytes:
    """``"123456789012"`` -> ``12 90 78 56 34 12`` (BCD pairs, low byte first); ``A`` digits for wildcards."""
    if len(address) != 12 or not all(c in "0123456789Aa" for c in address):
        raise ValueError(f"meter address must be 12 digits, not {address!r}")
    return bytes(int(address[i : i + 2], 16) for i in range(10, -1, -2))


def address_text(raw: bytes) -> str:
    return "".join(f"{b:02X}" for b in reversed(raw))


def checksum(body: bytes) -> int:
    return sum(body) & 0xFF


def encode(address: str, control: int, data: bytes = b"", wake: int = 4) -> bytes:
    """A complete frame with ``wake`` leading FE bytes; ``data`` is given without the 0x33 offset."""
    if len(data) > 255:
        raise ValueError(f"DATA of {len(data)} bytes; one frame carries at most 255")
    body = (
        bytes([START])
        + address_bytes(address)
        + bytes([START, control, len(data)])
        + bytes((b + OFFSET) & 0xFF for b in data)
    )
    return bytes([WAKE] * wake) + body + bytes([checksum(body), END])


def frame_span(buf: bytes | bytearray) -> tuple[int, int] | None:
    """(start, end) of the first complete frame candidate in ``buf``, or None if more bytes are needed.

    Bytes before the first 68 (wake-up FE, line noise) are skipped; the length comes from L.
    """
    start = buf.find(START)
    if start < 0 or len(buf) < start + HEADER_LEN:
        return None
    end = start + HEADER_LEN + buf[start + 9] + 2
    return (start, end) if len(buf) >= end else None


def decode(raw: bytes | bytearray) -> Frame:
    """Parse one frame (leading FE bytes allowed); raises :class:`FrameError` naming the defect."""
    i = 0
    while i < len(raw) and raw[i] == WAKE:
        i += 1
    body = bytes(raw[i:])
    if len(body) < HEADER_LEN + 2:
        raise FrameError(f"frame of {len(body)} bytes is shorter than the minimum 12")
    if body[0] != START or body[7] != START:
        raise FrameError(f"frame must start 68 ... 68, got {body[0]:02X} ... {body[7]:02X}")
    n = body[9]
    if len(body) != HEADER_LEN + n + 2:
        raise FrameError(f"L={n} needs {HEADER_LEN + n + 2} bytes, got {len(body)}")
    if body[-1] != END:
        raise FrameError(f"frame must end with 16, got {body[-1]:02X}")
    cs = checksum(body[:-2])
    if body[-2] != cs:
        raise FrameError(f"checksum {body[-2]:02X} wrong (sum of the frame is {cs:02X})")
    data = bytes((b - OFFSET) & 0xFF for b in body[HEADER_LEN:-2])
    return Frame(address_text(body[1:7]), body[8], data)


def di_bytes(di: str) -> bytes:
    """``"02 01 01 00"`` (DI3 DI2 DI1 DI0, as the standard writes it) -> the bytes sent, DI0 first."""
    raw = bytes.fromhex(di)
    if len(raw) != 4:
        raise ValueError(f"data identifier must be 4 bytes, not {di!r}")
    return raw[::-1]


def di_text(raw: bytes) -> str:
    return " ".join(f"{b:02X}" for b in reversed(raw))


@dataclass(frozen=True)
class Format:
    """A data format of appendix A: ``XXXXXX.XX`` has 8 digits of which 2 are decimals."""

    text: str
    signed: bool = False

    @property
    def digits(self) -> int:
        return self.text.count("X")

    @property
    def decimals(self) -> int:
        return len(self.text.partition(".")[2])

    @property
    def size(self) -> int:
        return self.digits // 2


def parse_format(text: str, signed: bool = False) -> Format:
    if not text or set(text) - {"X", "."} or text.count(".") > 1 or text.count("X") % 2:
        raise ValueError(f"format {text!r} is not an even number of X with at most one '.'")
    return Format(text, signed)


def decode_bcd(raw: bytes, fmt: Format) -> float:
    """Value of BCD bytes (low byte first) in ``fmt``; raises :class:`GarbageValue` on a non-decimal nibble."""
    if len(raw) != fmt.size:
        raise GarbageValue(f"{fmt.text} needs {fmt.size} bytes, got {len(raw)}")
    msb_first = bytearray(reversed(raw))
    negative = False
    if fmt.signed:
        negative = bool(msb_first[0] & 0x80)
        msb_first[0] &= 0x7F
    text = msb_first.hex()
    if not text.isdigit():
        raise GarbageValue(f"{raw[::-1].hex(' ').upper()} is not BCD ({fmt.text})")
    value = int(text) / 10**fmt.decimals
    return -value if negative else value


def encode_bcd(value: float, fmt: Format) -> bytes:
    """BCD bytes (low byte first) of ``value`` rounded to ``fmt``; the meter side of :func:`decode_bcd`."""
    n = round(abs(value) * 10**fmt.decimals)
    limit = 10 ** (fmt.digits - 1) * (8 if fmt.signed else 10)
    if n >= limit:
        raise ValueError(f"{value} does not fit {fmt.text}")
    msb_first = bytearray.fromhex(f"{n:0{fmt.digits}d}")
    if fmt.signed and value < 0 and n:
        msb_first[0] |= 0x80
    return bytes(reversed(msb_first))
