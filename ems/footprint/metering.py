"""Who consumed what: tenant, shared and line consumption from (possibly nested) sub-meters.

Rules (docs/footprints.md):

* Every metered device named by a tenant (``tenants[].meters``) or by ``shared_meters`` has one
  owner. A device's reading is its net consumption ``e_in - e_out`` per interval (loads and
  sub-meters read negative power while drawing, by the project's sign convention).
* Nesting (``parent`` of a meter): a meter whose nearest enclosing owned meter belongs to the
  *same* owner is inside it and is not counted again; one whose nearest enclosing owned meter
  belongs to *another* owner counts for its own owner and is subtracted from the enclosing one.
* Production lines are subdivisions of their tenant: a line's meter must be one of the
  tenant's meters or nested inside one; lines never add to the tenant's consumption.
* Shared meters are split among tenants by ``shared_meter_key``; keys must sum to <= 1 and the
  rest stays on an explicit ``shared:unallocated`` row.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from ems.carbon.aggregate import to_milli
from ems.carbon.flows import IntervalEnergyLike, fill_row
from ems.i18n import Msg
from ems.park import Meter, Park

SHARED = "shared"
SHARED_UNALLOCATED = "shared:unallocated"
REMAINDER = "park:remainder"
KEY_SCALE = 1_000_000  # shared-meter keys as integer parts per million


class MeteringError(ValueError):
    """The park file's tenant metering is inconsistent; the message names the problem."""


@dataclass(frozen=True)
class MeterPlan:
    """Signed device terms per owner, line meters, and the shared-meter keys (ppm)."""

    tenants: list[str]
    terms: dict[str, list[tuple[str, int]]]  # owner (tenant id or SHARED) -> [(device, +1/-1)]
    lines: dict[str, tuple[str, str]]  # line id -> (tenant id, meter device)
    line_order: dict[str, list[str]]  # tenant id -> its line ids
    keys_ppm: dict[str, int]  # tenant id -> share of shared meters

    @property
    def devices(self) -> list[str]:
        seen = {d for ts in self.terms.values() for d, _ in ts} | {m for _, m in self.lines.values()}
        return sorted(seen)

    @property
    def rows(self) -> list[str]:
        """Allocation rows: tenants, then the unallocated shared part, then the park remainder."""
        return [*self.tenants, SHARED_UNALLOCATED, REMAINDER]


def _ancestors(park: Park, device: str) -> list[str]:
    out: list[str] = []
    d = park.device(device)
    while isinstance(d, Meter) and d.parent:
        if d.parent in out:
            raise MeteringError(
                Msg("meter {device!r}: parent chain has a cycle at {parent!r}", device=device, parent=d.parent)
            )
        out.append(d.parent)
        d = park.device(d.parent)
    return out


def meter_plan(park: Park) -> MeterPlan:
    """Derive the signed terms (module docstring) and check the lines; MeteringError if inconsistent."""
    owner: dict[str, str] = {}
    for t in park.tenants:
        for m in t.meters:
            if owner.get(m, t.id) != t.id:
                raise MeteringError(Msg("meter {m!r} is named by tenants {a!r} and {b!r}", m=m, a=owner[m], b=t.id))
            owner[m] = t.id
    for m in park.shared_meters:
        if m in owner:
            raise MeteringError(
                Msg("meter {m!r} is both a tenant meter ({tenant!r}) and a shared meter", m=m, tenant=owner[m])
            )
        owner[m] = SHARED
    terms: dict[str, list[tuple[str, int]]] = {t.id: [] for t in park.tenants}
    terms[SHARED] = []
    for dev, own in owner.items():
        enclosing = next((a for a in _ancestors(park, dev) if a in owner), None)
        if enclosing is not None and owner[enclosing] == own:
            continue  # inside a meter of the same owner: already counted there
        terms[own].append((dev, 1))
        if enclosing is not None:
            terms[owner[enclosing]].append((dev, -1))
    lines: dict[str, tuple[str, str]] = {}
    line_order: dict[str, list[str]] = {}
    for t in park.tenants:
        line_order[t.id] = []
        for ln in t.lines:
            if ln.id in lines:
                raise MeteringError(Msg("production line id {line!r} is used twice", line=ln.id))
            inside = ln.meter in t.meters or any(a in t.meters for a in _ancestors(park, ln.meter))
            if not inside:
                raise MeteringError(
                    Msg(
                        "line {line!r} of tenant {tenant!r}: meter {meter!r} is neither one of the tenant's "
                        "meters ({meters}) nor nested inside one (set its parent)",
                        line=ln.id,
                        tenant=t.id,
                        meter=ln.meter,
                        meters=", ".join(t.meters),
                    )
                )
            lines[ln.id] = (t.id, ln.meter)
            line_order[t.id].append(ln.id)
    keys = {t.id: int((Decimal(repr(t.shared_meter_key or 0.0)) * KEY_SCALE).to_integral_value()) for t in park.tenants}
    if sum(keys.values()) > KEY_SCALE:
        raise MeteringError(
            Msg("shared_meter_key values sum to {total}, above 1", total=Decimal(sum(keys.values())) / KEY_SCALE)
        )
    return MeterPlan([t.id for t in park.tenants], terms, lines, line_order, keys)


@dataclass(frozen=True)
class Metered:
    """Net consumption per owner and per line [milli-kWh = Wh, int64 over T], with coverage."""

    owner_milli: dict[str, np.ndarray]
    line_milli: dict[str, np.ndarray]
    owner_coverage: dict[str, np.ndarray]  # mean coverage of the owner's devices [0, 1]
    filled: dict[str, np.ndarray]  # bool per owner: some device value was gap-filled


def read_metered(plan: MeterPlan, ie: IntervalEnergyLike) -> Metered:
    """Gap-fill each device like the carbon accounting does (ems.carbon.flows), then sum the terms."""
    row = {d: i for i, d in enumerate(ie.devices)}
    missing = [d for d in plan.devices if d not in row]
    if missing:
        raise KeyError(f"interval energy lacks tenant meters: {missing}")
    n = ie.e_out_kwh.shape[1]
    net: dict[str, np.ndarray] = {}
    cov: dict[str, np.ndarray] = {}
    fill: dict[str, np.ndarray] = {}
    for d in plan.devices:
        i = row[d]
        c = np.clip(ie.coverage[i], 0.0, 1.0)
        e_in, codes = fill_row(ie.e_in_kwh[i], c)
        e_out, _ = fill_row(ie.e_out_kwh[i], c)
        net[d] = to_milli(e_in) - to_milli(e_out)
        cov[d] = c
        fill[d] = codes > 0
    owner_milli, owner_cov, owner_fill = {}, {}, {}
    for own, ts in plan.terms.items():
        owner_milli[own] = sum((s * net[d] for d, s in ts), np.zeros(n, dtype=np.int64))
        devs = [d for d, _ in ts]
        owner_cov[own] = np.mean([cov[d] for d in devs], axis=0) if devs else np.ones(n)
        owner_fill[own] = np.any([fill[d] for d in devs], axis=0) if devs else np.zeros(n, dtype=bool)
    line_milli = {ln: net[m] for ln, (_, m) in plan.lines.items()}
    return Metered(owner_milli, line_milli, owner_cov, owner_fill)
