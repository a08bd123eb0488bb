"""Register codec: numbers <-> 16-bit Modbus registers, for every data type and word/byte order.

A value of ``n`` registers is the big-endian byte string of its type (``struct``
formats ``>H >h >I >i >Q >f``) cut into 16-bit words; ``word_order="little"``
reverses the words (low word first, "CDAB"), ``byte_order="little"`` swaps the two
bytes inside every word ("BADC"). Both little gives "DCBA".

SunSpec types keep their own names, because their "not implemented" value
differs (SunSpec Information Model Reference, § point types): u16/enum16/bitfield16
0xFFFF, s16/sunssf 0x8000, u32/enum32/bitfield32 0xFFFFFFFF, s32 0x80000000, u64
0xFFFFFFFFFFFFFFFF, acc16/acc32/acc64 (accumulators) 0, f32 NaN, string all NUL.
Strings are not numbers: :func:`decode_string` / :func:`encode_string`.
"""

from __future__ import annotations

import math
import struct
from typing import Literal

DataType = Literal[
    "u16",
    "s16",
    "u32",
    "s32",
    "u64",
    "f32",
    "sunssf",
    "acc16",
    "acc32",
    "acc64",
    "enum16",
    "enum32",
    "bitfield16",
    "bitfield32",
]
Order = Literal["big", "little"]

# type -> (struct format, registers, is integer)
TYPES: dict[str, tuple[str, int, bool]] = {
    "u16": (">H", 1, True),
    "s16": (">h", 1, True),
    "sunssf": (">h", 1, True),
    "u32": (">I", 2, True),
    "s32": (">i", 2, True),
    "u64": (">Q", 4, True),
    "f32": (">f", 2, False),
    "acc16": (">H", 1, True),
    "acc32": (">I", 2, True),
    "acc64": (">Q", 4, True),
    "enum16": (">H", 1, True),
    "enum32": (">I", 2, True),
    "bitfield16": (">H", 1, True),
    "bitfield32": (">I", 2, True),
}
STRING = "string"  # n registers of ASCII/UTF-8, NUL padded; the register count is the point's ``size``

_SENTINEL_RAW: dict[str, int] = {
    "u16": 0xFFFF,
    "s16": -0x8000,
    "sunssf": -0x8000,
    "u32": 0xFFFFFFFF,
    "s32": -0x80000000,
    "u64": 0xFFFFFFFFFFFFFFFF,
    "acc16": 0,
    "acc32": 0,
    "acc64": 0,
    "enum16": 0xFFFF,
    "enum32": 0xFFFFFFFF,
    "bitfield16": 0xFFFF,
    "bitfield32": 0xFFFFFFFF,
}


def _words_from_bytes(raw: bytes, word_order: Order, byte_order: Order) -> list[int]:
    words = [raw[i : i + 2] for i in range(0, len(raw), 2)]
    if word_order == "little":
        words.reverse()
    if byte_order == "little":
        words = [w[::-1] for w in words]
    return [int.from_bytes(w, "big") for w in words]


def _bytes_from_words(regs: list[int], word_order: Order, byte_order: Order) -> bytes:
    words = [int(r).to_bytes(2, "big") for r in regs]
    if byte_order == "little":
        words = [w[::-1] for w in words]
    if word_order == "little":
        words.reverse()
    return b"".join(words)


def decode(regs: list[int], dtype: str, word_order: Order = "big", byte_order: Order = "big") -> int | float:
    """Raw number held in ``regs`` (exactly as many registers as the type occupies)."""
    fmt, n, _ = TYPES[dtype]
    if len(regs) != n:
        raise ValueError(f"{dtype} needs {n} registers, got {len(regs)}")
    value: int | float = struct.unpack(fmt, _bytes_from_words(regs, word_order, byte_order))[0]
    return value


def encode(value: int | float, dtype: str, word_order: Order = "big", byte_order: Order = "big") -> list[int]:
    """Registers holding raw ``value``; integers must fit the type (no silent wrap-around)."""
    fmt, _, is_int = TYPES[dtype]
    v: int | float = int(value) if is_int else float(value)
    try:
        raw = struct.pack(fmt, v)
    except struct.error as exc:
        raise ValueError(f"{value!r} does not fit {dtype}: {exc}") from None
    return _words_from_bytes(raw, word_order, byte_order)


def is_not_implemented(raw: int | float, dtype: str) -> bool:
    """True for SunSpec's "not implemented" sentinel of the type."""
    if dtype == "f32":
        return math.isnan(raw)
    return raw == _SENTINEL_RAW[dtype]


def to_raw(value: float, dtype: str, scale: float = 1.0, sf: int = 0) -> int | float:
    """Raw register number for an engineering value: ``raw = value / (scale · 10**sf)``, rounded for integers."""
    raw = value / (scale * 10.0**sf)
    return round(raw) if TYPES[dtype][2] else raw


def from_raw(raw: int | float, scale: float = 1.0, sf: int = 0) -> float:
    """Engineering value of a raw register number: ``value = raw · scale · 10**sf``."""
    return float(raw) * scale * 10.0**sf


def decode_string(regs: list[int]) -> str | None:
    """Text of a SunSpec string point (NUL padded); None when all NUL ("not implemented")."""
    raw = b"".join(int(r).to_bytes(2, "big") for r in regs).split(b"\0", 1)[0]
    return raw.decode("utf-8", errors="replace").strip() or None


def encode_string(text: str, n_regs: int) -> list[int]:
    """Registers holding ``text`` NUL padded to ``n_regs`` registers; refuses text that does not fit."""
    raw = text.encode("utf-8")
    if len(raw) > 2 * n_regs:
        raise ValueError(f"{text!r} does not fit {n_regs} registers")
    raw = raw.ljust(2 * n_regs, b"\0")
    return [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]
