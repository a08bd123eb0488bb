"""One device behind a register map: locate its points, read them in blocks, decode to quantities.

Reading a device yields ``(quantity, value, quality)`` triples in the project's
units and generator convention. Values the device marks "not implemented"
(SunSpec sentinels) are skipped; values outside their physical range (quantity
bounds of :mod:`ems.quantities`, power bounds of :func:`ems.telemetry.power_bounds_kw`)
are kept with quality BAD and counted as garbage, so validation can reject them with
a reason while the poller marks the device degraded.

A SunSpec device can change under a running poller (a firmware update, a reconfigured
gateway): each read also reads the ID and L of every model it decodes (usually in the same
block); a point of a required model that answered before and now reads "not implemented", or
an "illegal data address" refusal of a block, means the same. Either way the driver discovers
the chain again and reads once more, in the same poll, so readings are never decoded from
registers that now belong to another model; it counts this in ``rediscoveries``
(``last_rediscovery`` says why).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from device_drivers.blocks import Block, plan_blocks
from device_drivers.codec import STRING, decode, decode_string, encode, from_raw, is_not_implemented, to_raw
from device_drivers.errors import DiscoveryError, GarbageValue, ModbusException, RegisterMapError, SetpointNotConfirmed
from device_drivers.register_map import ControlSpec, Point, RegisterMap, orient, repeated_points
from device_drivers.sunspec import ILLEGAL_DATA_ADDRESS, ModelLocation, discover
from device_drivers.transport import Transport
from ems.quantities import QUANTITIES, Quality
from ems.telemetry import power_bounds_kw

SF_RANGE = 10  # SunSpec scale factors are -10..10
HOLDING = 3  # SunSpec models are holding registers (function 3)


def point_value(pt: Point, words: list[int], sf_word: int | None, sunspec: bool) -> float | None:
    """``raw · scale · 10**sf`` of a numeric point; None if SunSpec marks the value or its scale factor
    "not implemented". Raises :class:`GarbageValue` for a scale factor outside -10..10."""
    raw = decode(words, pt.dtype, pt.word_order, pt.byte_order)
    if sunspec and is_not_implemented(raw, pt.dtype):
        return None
    sf = 0
    if sf_word is not None:
        sf = int(decode([sf_word], "sunssf"))
        if is_not_implemented(sf, "sunssf"):
            return None
        if not -SF_RANGE <= sf <= SF_RANGE:
            raise GarbageValue(f"scale factor {sf} outside -10..10")
    return from_raw(raw, pt.scale, sf)


def plausible_range(device: object, quantity: str) -> tuple[float, float]:
    """Physically possible values of ``quantity`` on ``device``; a reading outside is kept with quality BAD."""
    q = QUANTITIES[quantity]
    lo = -math.inf if q.lo is None else q.lo
    hi = math.inf if q.hi is None else q.hi
    if quantity in ("p_kw", "p_setpoint_kw"):
        lo, hi = power_bounds_kw(device)
    return lo, hi


@dataclass(frozen=True)
class Located:
    """A point at its absolute address; ``key`` is ``model.point`` (SunSpec) or the point name."""

    key: str
    point: Point
    address: int
    sf_key: str | None


@dataclass(frozen=True)
class Reading:
    quantity: str
    value: float
    quality: int


class DeviceDriver:
    """Reads (and, through :mod:`device_drivers.control`, writes) one device."""

    def __init__(
        self,
        device_id: str,
        device: object,
        register_map: RegisterMap,
        transport: Transport,
        unit: int = 1,
        max_block_registers: int = 125,
        sunspec_base: int | None = None,
    ) -> None:
        self.device_id = device_id
        self.device = device
        self.map = register_map
        self.transport = transport
        self.unit = unit
        self.max_block_registers = max_block_registers
        self.sunspec_base = sunspec_base
        self.sign = register_map.sign_for(str(getattr(device, "type", "")))
        self.points: dict[str, Located] = {}
        self.feeds: dict[str, str] = {}  # point key -> quantity it feeds (first point per quantity wins)
        self.blocks: list[Block] = []
        self.layout: dict[int, ModelLocation] = {}
        self.models_used: dict[str, int] = {}  # map model name -> model id found
        self.skipped: list[str] = []  # map points the device's model revisions do not have
        self.unsupported: dict[str, str] = {}  # map model name -> why the served revision is not used
        self.info: dict[str, str] = {}  # string points (SunSpec common model: Mn, Md, SN, Vr)
        self.last_request_s = 0.0  # slowest single request of the last read
        self.ready = False
        self.model_at: dict[str, ModelLocation] = {}  # map model name -> where the device serves it
        self.headers: list[ModelLocation] = []  # models whose points are decoded: checked on every read
        self.implemented: set[str] = set()  # required points that have answered since the last discovery
        self.rediscoveries = 0
        self.last_rediscovery = ""
        self.copies: dict[str, int] = {}  # map model name -> copies of its repeating group read (e.g. MPPTs)

    # ------------------------------------------------------------------ locating

    async def locate(self) -> None:
        """Resolve addresses (SunSpec discovery if needed) and plan the block reads."""
        if self.map.kind == "sunspec":
            self.layout = await discover(self.transport, self.unit, self.sunspec_base)
            self._locate_sunspec()
            await self._count_copies()
        else:
            self.points = {pt.name: Located(pt.name, pt, pt.offset, pt.sf) for pt in self.map.points}
        strings = [k for k, loc in self.points.items() if loc.point.dtype == STRING]
        if strings:
            regs = await self.read_points(strings)
            self.info = {}
            for k in strings:
                loc = self.points[k]
                text = decode_string([regs[(loc.point.function, loc.address + i)] for i in range(loc.point.count)])
                if text is not None:
                    self.info[loc.point.name] = text
        self.feeds = {}
        covered: set[str] = set()
        for key, loc in self.points.items():
            q = loc.point.quantity
            if q is not None and q not in covered:
                covered.add(q)
                self.feeds[key] = q
        needed = set(self.feeds) | {loc.sf_key for k, loc in self.points.items() if k in self.feeds and loc.sf_key}
        spans = [(self.points[k].point.function, self.points[k].address, self.points[k].point.count) for k in needed]
        decoded = {k.split(".", 1)[0] for k in self.feeds}
        self.headers = [loc for name, loc in self.model_at.items() if name in decoded]
        spans += [(HOLDING, loc.address, 2) for loc in self.headers]
        self.blocks = plan_blocks(spans, self.max_block_registers, self.map.max_gap_registers)
        self.implemented = set()
        self.ready = True

    def _locate_sunspec(self) -> None:
        """Place the map's points in the discovered chain.

        Per role the first model (map order) the device serves is used. A device may serve another
        revision of a model than the map was written from (its L tells which): points beyond the
        served length are skipped (listed in ``skipped``), as are points whose scale factor is.
        A model the map writes to is used only at the map's length: revisions of a control model
        may move points (704's draft with L=64 had its scale factors one register earlier), and a
        setpoint must never land on the wrong register; such a model is listed in ``unsupported``
        and the next model of its role (e.g. 123) is tried. The device is still read.
        """
        self.points = {}
        self.copies = {}
        self.models_used = {}
        self.model_at = {}
        self.skipped = []
        self.unsupported = {}
        roles_found: set[str] = set()
        for model in self.map.models:
            if model.group in roles_found:
                continue
            found = next((self.layout[i] for i in model.ids if i in self.layout), None)
            if found is None:
                continue
            if found.length != model.length and any(pt.writable for pt in model.points):
                self.unsupported[model.name] = (
                    f"model {found.id} has L={found.length}; setpoints are written only to the published "
                    f"revision (L={model.length})"
                )
                continue
            roles_found.add(model.group)
            self.models_used[model.name] = found.id
            self.model_at[model.name] = found
            inside = {pt.name for pt in model.points if pt.offset + pt.count <= found.length + 2}
            for pt in model.points:
                key = f"{model.name}.{pt.name}"
                if pt.name not in inside or (pt.sf is not None and pt.sf not in inside):
                    self.skipped.append(key)
                    continue
                sf_key = f"{model.name}.{pt.sf}" if pt.sf else None
                self.points[key] = Located(key, pt, found.address + pt.offset, sf_key)
            if model.repeating is not None:
                self.copies[model.name] = model.repeating.copies(found.length)
                for _, pt in repeated_points(model.repeating, self.copies[model.name]):
                    key = f"{model.name}.{pt.name}"
                    if pt.sf is not None and pt.sf not in inside:
                        self.skipped.append(key)
                        continue
                    sf_key = f"{model.name}.{pt.sf}" if pt.sf else None
                    self.points[key] = Located(key, pt, found.address + pt.offset, sf_key)
        missing = sorted({m.group for m in self.map.models if m.required} - roles_found)
        if missing:
            wanted = "; ".join(
                f"{role}: one of {', '.join(str(i) for m in self.map.models if m.group == role for i in m.ids)}"
                for role in missing
            )
            raise DiscoveryError(
                f"required SunSpec model(s) not found ({wanted}); device has {sorted(self.layout)}", self.device_id
            )

    async def _count_copies(self) -> None:
        """Keep the copies of each repeating group its count point (e.g. 160's N) says are in use.

        The served length bounds the copies; a device that implements the count point may serve
        fewer modules than its length holds (padding). A count above what the length holds is a
        device error: only the complete copies are read, and the mismatch is listed in ``skipped``.
        """
        for name, copies in list(self.copies.items()):
            rg = self.map.model(name).repeating
            key = f"{name}.{rg.count}" if rg is not None and rg.count else ""
            if key not in self.points:
                continue
            regs = await self.read_points([key])
            n = self.value_of(key, regs)
            if n is None or n == copies:
                continue
            if n > copies:
                self.skipped.append(f"{key}={n:g} but L holds {copies} copies")
                continue
            self.copies[name] = int(n)
            prefix = f"{name}.{rg.name}["  # type: ignore[union-attr]
            for k in [k for k in self.points if k.startswith(prefix)]:
                if int(k[len(prefix) :].split("]", 1)[0]) > n:
                    del self.points[k]

    # ------------------------------------------------------------------ reading

    async def read_blocks(self, blocks: list[Block]) -> dict[tuple[int, int], int]:
        """(function, address) -> register value for every register of ``blocks``."""
        regs: dict[tuple[int, int], int] = {}
        self.last_request_s = 0.0
        for b in blocks:
            t0 = time.monotonic()
            values = await self.transport.read_registers(self.unit, b.address, b.count, b.function)
            self.last_request_s = max(self.last_request_s, time.monotonic() - t0)
            for i, v in enumerate(values):
                regs[(b.function, b.address + i)] = v
        return regs

    def value_of(self, key: str, regs: dict[tuple[int, int], int]) -> float | None:
        """Engineering value of a point in the map's native convention; None if not implemented.

        Raises :class:`GarbageValue` for an unusable scale factor.
        """
        loc = self.points[key]
        pt = loc.point
        words = [regs[(pt.function, loc.address + i)] for i in range(pt.count)]
        sf_word = None
        if loc.sf_key is not None:
            sf_loc = self.points[loc.sf_key]
            sf_word = regs[(sf_loc.point.function, sf_loc.address)]
        try:
            return point_value(pt, words, sf_word, self.map.kind == "sunspec")
        except GarbageValue as exc:
            raise GarbageValue(f"{loc.sf_key}: {exc}", self.device_id) from None

    def bounds(self, quantity: str) -> tuple[float, float]:
        return plausible_range(self.device, quantity)

    async def read(self) -> tuple[list[Reading], int]:
        """One poll: (readings, number of garbage values among them).

        Discovers the device again (once per poll) when its SunSpec chain changed (module docstring);
        raises :class:`DiscoveryError` if it changed again right after that.
        """
        changed = ""
        for attempt in range(2):
            if not self.ready:
                await self.locate()
            try:
                regs = await self.read_blocks(self.blocks)
            except ModbusException as exc:
                # a SunSpec chain that got shorter: the old addresses are refused
                if attempt or exc.code != ILLEGAL_DATA_ADDRESS or self.map.kind != "sunspec":
                    raise
                regs, changed = {}, str(exc)
            else:
                changed = self._chain_changed(regs)
            if not changed:
                out, garbage, vanished = self._decode(regs)
                if not vanished:
                    return out, garbage
                changed = f"{', '.join(vanished)} now read(s) 'not implemented'"
            self.ready = False
            self.rediscoveries += 1
            self.last_rediscovery = changed
        raise DiscoveryError(f"the SunSpec model chain keeps changing: {changed}", self.device_id)

    def _chain_changed(self, regs: dict[tuple[int, int], int]) -> str:
        """Why the models decoded are no longer where discovery found them ("" if they are)."""
        for loc in self.headers:
            got = (regs[(HOLDING, loc.address)], regs[(HOLDING, loc.address + 1)])
            if got != (loc.id, loc.length):
                return f"model {loc.id} (L={loc.length}) expected at {loc.address}, found ID {got[0]} L={got[1]}"
        return ""

    def _decode(self, regs: dict[tuple[int, int], int]) -> tuple[list[Reading], int, list[str]]:
        """Readings, garbage count, and the required points that answered before but not now."""
        out: list[Reading] = []
        garbage = 0
        vanished: list[str] = []
        required = {m.group for m in self.map.models if m.required}
        group = {m.name: m.group for m in self.map.models}
        for key, quantity in self.feeds.items():
            try:
                value = self.value_of(key, regs)
            except GarbageValue:
                garbage += 1
                continue
            is_required = self.map.kind == "sunspec" and group.get(key.split(".", 1)[0]) in required
            if value is None:
                if key in self.implemented:
                    vanished.append(key)
                continue
            if is_required:
                self.implemented.add(key)
            q, v = orient(quantity, value, self.sign)
            lo, hi = self.bounds(q)
            quality = Quality.GOOD
            if not (math.isfinite(v) and lo <= v <= hi):
                quality = Quality.BAD
                garbage += 1
            out.append(Reading(q, v, int(quality)))
        return out, garbage, vanished

    # ------------------------------------------------------------------ writing

    def control_spec(self, quantity: str) -> ControlSpec:
        """First control option of the map whose model this device has."""
        for spec in self.map.controls.get(quantity, ()):
            if spec.model is None or spec.model in self.models_used:
                return spec
        why = "".join(f"; {m}: {reason}" for m, reason in self.unsupported.items())
        raise RegisterMapError(f"map {self.map.name!r} offers no way to write {quantity} on {self.device_id}{why}")

    def _key(self, spec: ControlSpec, point: str) -> str:
        return f"{spec.model}.{point}" if spec.model else point

    async def read_points(self, keys: list[str]) -> dict[tuple[int, int], int]:
        spans = []
        for k in keys:
            loc = self.points[k]
            spans.append((loc.point.function, loc.address, loc.point.count))
            if loc.sf_key:
                sf = self.points[loc.sf_key]
                spans.append((sf.point.function, sf.address, 1))
        return await self.read_blocks(plan_blocks(spans, self.max_block_registers, self.map.max_gap_registers))

    async def write_setpoint(self, quantity: str, value: float) -> float:
        """Write ``value`` (generator convention, canonical unit) and return the value read back."""
        if not self.ready:
            await self.locate()
        spec = self.control_spec(quantity)
        key = self._key(spec, spec.setpoint)
        loc = self.points[key]
        regs = await self.read_points([key])
        sf = 0
        if loc.sf_key:
            sf_loc = self.points[loc.sf_key]
            sf = int(decode([regs[(sf_loc.point.function, sf_loc.address)]], "sunssf"))
            if not -SF_RANGE <= sf <= SF_RANGE:
                raise GarbageValue(f"scale factor {loc.sf_key}={sf} outside -10..10", self.device_id)
        _, native = orient(quantity, value, self.sign)
        pt = loc.point
        raw = to_raw(native, pt.dtype, pt.scale, sf)
        await self.transport.write_registers(
            self.unit, loc.address, encode(raw, pt.dtype, pt.word_order, pt.byte_order)
        )
        for point, flag in spec.enable:
            e = self.points[self._key(spec, point)]
            await self.transport.write_registers(
                self.unit, e.address, encode(flag, e.point.dtype, e.point.word_order, e.point.byte_order)
            )
        back = self.value_of(key, await self.read_points([key]))
        written = orient(quantity, from_raw(raw, pt.scale, sf), self.sign)[1]
        confirmed = None if back is None else orient(quantity, back, self.sign)[1]
        if confirmed is None or abs(confirmed - written) > 1e-9 * max(1.0, abs(written)):
            raise SetpointNotConfirmed(f"{self.device_id}: wrote {quantity}={written:g}, read back {confirmed}")
        return confirmed
