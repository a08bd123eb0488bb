"""A device's register image built from its register map with the codec's encoder.

The simulator writes engineering values (in the map's native convention and the
point's unit) and the image encodes them exactly as the map says a device does, so
client and server can only agree if the map, the encoder and the decoder agree. SunSpec
models start from the official definition with every point "not implemented".
"""

from __future__ import annotations

from dataclasses import dataclass

from device_drivers.codec import TYPES, decode, encode, encode_string, from_raw, to_raw
from device_drivers.register_map import Point, RegisterMap, repeated_points
from device_drivers.simulator.sunspec_models import unimplemented_body
from device_drivers.sunspec import END_ID, SUNS_MARKER

SF_MIN, SF_MAX = -3, 10


@dataclass(frozen=True)
class Slot:
    key: str
    point: Point
    address: int
    sf_key: str | None


def _int_range(dtype: str) -> tuple[int, int]:
    bits = 16 * TYPES[dtype][1]
    if dtype in ("s16", "s32", "sunssf"):
        return -(2 ** (bits - 1)) + 1, 2 ** (bits - 1) - 1  # keep off the "not implemented" sentinel
    return 0, 2**bits - 2


def choose_sf(max_abs: float, points: list[Point]) -> int:
    """Smallest scale factor with which ``max_abs`` fits every point sharing it (finest resolution)."""
    for sf in range(SF_MIN, SF_MAX + 1):
        if all(max_abs / (p.scale * 10.0**sf) <= _int_range(p.dtype)[1] for p in points):
            return sf
    return SF_MAX


class RegisterImage:
    """Registers of one device: SunSpec chain at ``base`` or the plain map's addresses.

    ``models`` names the map models to serve; by default the first of each role. ``copies`` gives the
    number of copies of a model's repeating group (model name -> n, e.g. MPPT inputs; default 2).
    """

    def __init__(
        self,
        rmap: RegisterMap,
        base: int = 40000,
        models: list[str] | None = None,
        copies: dict[str, int] | None = None,
    ) -> None:
        self.map = rmap
        self.slots: dict[str, Slot] = {}
        self.models: dict[str, int] = {}  # model name -> id served
        self.copies: dict[str, int] = {}  # model name -> copies of its repeating group served
        if rmap.kind == "sunspec":
            regs = list(SUNS_MARKER)
            roles: set[str] = set()
            for m in rmap.models:
                # by default one model per role, the preferred one (701 rather than 103, 713 rather than 802
                # or 124): a current device's chain, and a short discovery
                if (m.name not in models) if models is not None else (m.group in roles):
                    continue
                roles.add(m.group)
                start = base + len(regs)
                self.models[m.name] = m.ids[0]
                points = list(m.points)
                length = m.length
                if m.repeating is not None:
                    n = self.copies[m.name] = (copies or {}).get(m.name, 2)
                    length = m.repeating.offset - 2 + n * m.repeating.length
                    points += [pt for _, pt in repeated_points(m.repeating, n)]
                regs += [m.ids[0], length, *unimplemented_body(m.ids[0], length)]
                for p in points:
                    key = f"{m.name}.{p.name}"
                    self.slots[key] = Slot(key, p, start + p.offset, f"{m.name}.{p.sf}" if p.sf else None)
            regs += [END_ID, 0]
            self.start = base
            self.regs = regs
        else:
            for p in rmap.points:
                self.slots[p.name] = Slot(p.name, p, p.offset, p.sf)
            lo = min(s.address for s in self.slots.values())
            hi = max(s.address + s.point.count for s in self.slots.values())
            self.start = lo
            self.regs = [0] * (hi - lo)
            used: dict[int, str] = {}
            for s in self.slots.values():
                for a in range(s.address, s.address + s.point.count):
                    if a in used:
                        raise ValueError(f"{rmap.name}: {s.key} overlaps {used[a]} at {a} (one address space)")
                    used[a] = s.key

    def runs(self) -> list[tuple[int, int]]:
        """(start, count) of the address ranges a server should answer; larger unused gaps are refused."""
        if self.map.kind == "sunspec":
            return [(self.start, len(self.regs))]
        addrs = sorted(a for s in self.slots.values() for a in range(s.address, s.address + s.point.count))
        runs: list[list[int]] = []
        for a in addrs:
            if runs and a - runs[-1][1] <= self.map.max_gap_registers:
                runs[-1][1] = a + 1
            else:
                runs.append([a, a + 1])
        return [(a, b - a) for a, b in runs]

    def _words(self, slot: Slot) -> list[int]:
        i = slot.address - self.start
        return self.regs[i : i + slot.point.count]

    def _put(self, slot: Slot, words: list[int]) -> None:
        i = slot.address - self.start
        self.regs[i : i + len(words)] = words

    def has(self, key: str) -> bool:
        return key in self.slots

    def set_raw(self, key: str, raw: int | float) -> None:
        s = self.slots[key]
        self._put(s, encode(raw, s.point.dtype, s.point.word_order, s.point.byte_order))

    def set_string(self, key: str, text: str) -> None:
        s = self.slots[key]
        self._put(s, encode_string(text, s.point.count))

    def get_raw(self, key: str) -> int | float:
        s = self.slots[key]
        return decode(self._words(s), s.point.dtype, s.point.word_order, s.point.byte_order)

    def sf(self, key: str) -> int:
        s = self.slots[key]
        return int(self.get_raw(s.sf_key)) if s.sf_key else 0

    def set(self, key: str, value: float) -> None:
        """Store an engineering value (native convention, the point's unit), clipped to the type's range."""
        s = self.slots[key]
        raw = to_raw(value, s.point.dtype, s.point.scale, self.sf(key))
        if isinstance(raw, int):
            lo, hi = _int_range(s.point.dtype)
            raw = min(max(raw, lo), hi)
        self.set_raw(key, raw)

    def get(self, key: str) -> float:
        return from_raw(self.get_raw(key), self.slots[key].point.scale, self.sf(key))

    def set_scale_factors(self, max_abs: dict[str, float]) -> None:
        """Choose each sunssf from the largest magnitude its points must carry (``point key -> max``)."""
        users: dict[str, list[tuple[Point, float]]] = {}
        for key, m in max_abs.items():
            s = self.slots.get(key)
            if s is not None and s.sf_key:
                users.setdefault(s.sf_key, []).append((s.point, m))
        for sf_key, pts in users.items():
            sf = max(choose_sf(m, [p]) for p, m in pts)
            self.set_raw(sf_key, sf)

    def write(self, address: int, values: list[int]) -> None:
        i = address - self.start
        self.regs[i : i + len(values)] = values
