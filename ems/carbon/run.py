"""One accounting run: metered energy + ledgers + factors → :class:`AccountingRun` (pure, no database).

This module turns ledger entries (contract deliveries, certificate retirements) into the
per-interval claims of :mod:`ems.carbon.accounting`, resolves the factors and the storage
parameters from the park file, and keeps everything a report needs as evidence.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from ems.carbon.accounting import Accounts, MarketClaims, VolumeBlock, account
from ems.carbon.certificates import ContractDelivery, Period, RetirementEntry
from ems.carbon.factors import EmissionFactor, FactorError, FactorRegistry, parse_ref
from ems.carbon.flows import Boundary, FillInfo, IntervalEnergyLike, boundary_of, flows_from_energy
from ems.carbon.storage_ledger import StorageParams
from ems.park import Battery, Park

_US = np.timedelta64(1, "us")


@dataclass(frozen=True)
class ResolvedFactor:
    ref: str
    per_interval: np.ndarray  # kgCO2/kWh
    provenance: dict[str, Any]
    constant: Decimal | None  # the Decimal value when not time-varying


@dataclass(frozen=True)
class AccountingRun:
    park: Park
    start: dt.datetime
    end: dt.datetime
    boundary: Boundary
    fills: FillInfo
    accounts: Accounts
    grid_factor: ResolvedFactor
    residual_factor: ResolvedFactor
    storage: StorageParams
    deliveries: list[ContractDelivery]
    retirements: list[RetirementEntry]
    claims: MarketClaims


def default_residual_ref(park: Park, registry: FactorRegistry) -> str:
    """Park's residual factor, else the national 'excl. market-traded non-fossil' factor of the grid year."""
    if park.carbon.residual_factor:
        return park.carbon.residual_factor
    year = None
    if not registry.is_series(park.carbon.grid_factor):
        year = registry.get(park.carbon.grid_factor).data_year
    candidates = [f for f in registry.all() if f.key.startswith("cn-national-excl-market-")]
    if not candidates:
        raise FactorError("no residual factor in the park file and no cn-national-excl-market-* factor registered")
    same_year = [f for f in candidates if f.data_year == year]
    chosen: EmissionFactor = (same_year or sorted(candidates, key=lambda f: f.data_year))[-1]
    return chosen.key


def resolve_factor(registry: FactorRegistry, ref: str, starts: np.ndarray) -> ResolvedFactor:
    if registry.is_series(ref):
        s = registry.get_series(ref)
        return ResolvedFactor(s.id, s.at(starts), s.provenance(), None)
    f = registry.get(ref)
    parse_ref(ref)
    return ResolvedFactor(f.id, np.full(len(starts), float(f.value)), f.provenance(), f.value)


def storage_params(park: Park) -> StorageParams:
    """All batteries as one pool; efficiencies weighted by rated energy. The pool starts empty."""
    bats: list[Battery] = park.devices_of("battery")
    if not bats:
        return StorageParams()
    w = np.array([b.e_rated_kwh for b in bats])
    avg = lambda xs: float(np.dot(w, xs) / w.sum())  # noqa: E731
    return StorageParams(
        eta_charge=avg([b.eta_charge for b in bats]),
        eta_discharge=avg([b.eta_discharge for b in bats]),
        self_discharge_per_h=avg([b.self_discharge_per_h for b in bats]),
    )


def _index(starts: np.ndarray, step_us: int, t: dt.datetime) -> int:
    """Interval index of time t relative to the window (may be < 0 or > n)."""
    t64 = np.datetime64(t.astimezone(dt.UTC).replace(tzinfo=None), "us")
    return int(np.floor((t64 - starts[0]) / _US / step_us))


def _clip(i: int, n: int) -> int:
    return max(0, min(n, i))


def build_claims(
    starts: np.ndarray,
    interval_minutes: int,
    deliveries: list[ContractDelivery],
    retirements: list[RetirementEntry],
) -> MarketClaims:
    """Per-interval contract energy and the allocation blocks for period volumes and certificates."""
    n = len(starts)
    step_us = interval_minutes * 60_000_000
    per_interval = np.zeros(n)
    refs: list[tuple[int, float, str]] = []
    blocks: list[VolumeBlock] = []
    for d in deliveries:
        a, b = _index(starts, step_us, d.period.start), _index(starts, step_us, d.period.end)
        if d.granularity == "interval":
            span = max(b - a, 1)  # evenly over the intervals the delivery period spans
            for t in range(_clip(a, n), _clip(b, n)):
                per_interval[t] += float(d.kwh) / span
                refs.append((t, float(d.kwh) / span, f"delivery:{d.delivery_id}"))
        else:
            i0, i1 = _clip(a, n), _clip(b, n)
            if i1 > i0:
                inside = a >= 0 and b <= n
                blocks.append(
                    VolumeBlock(
                        i0,
                        i1,
                        float(d.kwh),
                        (f"delivery:{d.delivery_id}",),
                        "contract_period",
                        None if inside else float(d.basis_kwh or 0),
                    )
                )
    by_period: dict[tuple[dt.datetime, dt.datetime], list[RetirementEntry]] = {}
    for r in retirements:
        by_period.setdefault((r.period.start, r.period.end), []).append(r)
    for (ps, pe), group in sorted(by_period.items()):
        a, b = _index(starts, step_us, ps), _index(starts, step_us, pe)
        i0, i1 = _clip(a, n), _clip(b, n)
        if i1 <= i0:
            continue
        inside = a >= 0 and b <= n
        basis = float(max(r.basis_kwh for r in group))
        blocks.append(
            VolumeBlock(
                i0,
                i1,
                1000.0 * len(group),
                tuple(sorted(r.serial for r in group)),
                "certificate",
                None if inside else basis,
            )
        )
    return MarketClaims(per_interval, refs, blocks)


def compute_run(
    park: Park,
    ie: IntervalEnergyLike,
    start: dt.datetime,
    end: dt.datetime,
    registry: FactorRegistry,
    deliveries: Sequence[ContractDelivery] = (),
    retirements: Sequence[RetirementEntry] = (),
    *,
    with_loads: bool = True,
) -> AccountingRun:
    """Everything the report and the factor series need, from plain inputs."""
    flows, fills = flows_from_energy(park, ie, with_loads=with_loads)
    period = Period(start, end)
    dels = [d for d in deliveries if d.period.overlaps(period)]
    rets = [r for r in retirements if r.period.overlaps(period)]
    claims = build_claims(flows.starts, flows.interval_minutes, dels, rets)
    grid = resolve_factor(registry, park.carbon.grid_factor, flows.starts)
    residual = resolve_factor(registry, default_residual_ref(park, registry), flows.starts)
    storage = storage_params(park)
    accounts = account(flows, grid.per_interval, residual.per_interval, claims, storage)
    return AccountingRun(
        park, start, end, boundary_of(park), fills, accounts, grid, residual, storage, dels, rets, claims
    )
