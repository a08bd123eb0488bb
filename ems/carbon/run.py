"""One accounting run: metered energy + ledgers + factors → :class:`AccountingRun` (pure, no database).

This module turns ledger entries (contract deliveries, certificate retirements) into the
per-interval claims of :mod:`ems.carbon.accounting`, resolves the factors and the storage
parameters from the park file, and keeps everything a report needs as evidence.

Periods add up: a period [start, end) is always computed as a slice of its *accounting span*
(:func:`accounting_span`): from the accounting origin (the storage pool is empty there) to the
end of the last claim period it overlaps. So the pool opens every period with the state the
previous period closed with, and certificate and contract volumes are allocated over their
whole period; a month's figures are the same intervals, bit for bit, as in the year's report.
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
from ems.carbon.factors import EmissionFactor, FactorError, FactorRegistry, grid_cfe_share, parse_ref
from ems.carbon.flows import Boundary, FillInfo, IntervalEnergyLike, boundary_of, flows_from_energy
from ems.carbon.storage_ledger import PoolState, StorageParams
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
    span_start: dt.datetime  # accounting origin the storage pool was carried from
    grid_cfe_share: np.ndarray | None  # per interval, for the google-24x7 CFE score
    grid_cfe_provenance: dict[str, Any]

    @property
    def opening(self) -> PoolState:
        return self.accounts.ledger.opening


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


def resolve_factor(
    registry: FactorRegistry, ref: str, starts: np.ndarray, interval_minutes: int | None = None
) -> ResolvedFactor:
    """Factor ``ref`` per interval starting at ``starts`` (of ``interval_minutes``: a finer time-varying
    series is averaged over each interval, :meth:`FactorSeries.at`)."""
    if registry.is_series(ref):
        s = registry.get_series(ref)
        return ResolvedFactor(s.id, s.at(starts, interval_minutes), s.provenance(), None)
    f = registry.get(ref)
    parse_ref(ref)
    return ResolvedFactor(f.id, np.full(len(starts), float(f.value)), f.provenance(), f.value)


def storage_params(park: Park) -> StorageParams:
    """All batteries as one pool; efficiencies weighted by rated energy. The pool is empty at the accounting origin."""
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


def accounting_origin(park: Park, start: dt.datetime) -> dt.datetime:
    """Where the storage pool is empty: park file ``carbon.accounting_origin`` (local midnight) if not
    after ``start``, else 1 January of ``start``'s year (park time)."""
    local = start.astimezone(park.tz)
    o = park.carbon.accounting_origin
    if o is not None:
        origin = dt.datetime(o.year, o.month, o.day, tzinfo=park.tz)
        if origin <= start:
            return origin
    return dt.datetime(local.year, 1, 1, tzinfo=park.tz)


def accounting_span(
    park: Park,
    start: dt.datetime,
    end: dt.datetime,
    deliveries: Sequence[ContractDelivery] = (),
    retirements: Sequence[RetirementEntry] = (),
) -> tuple[dt.datetime, dt.datetime]:
    """[origin, end') to compute so that [start, end) is a slice of it (module docstring).

    ``end'`` reaches to the end of every contract-volume or certificate period overlapping the
    window, so those volumes are allocated over their whole period whatever the window.
    """
    window = Period(start, end)
    ends = [d.period.end for d in deliveries if d.granularity != "interval" and d.period.overlaps(window)]
    ends += [r.period.end for r in retirements if r.period.overlaps(window)]
    return min(accounting_origin(park, start), start), max([end, *ends])


def resolve_grid_cfe_share(park: Park, registry: FactorRegistry, n: int) -> tuple[np.ndarray | None, dict[str, Any]]:
    """Grid carbon-free share per interval: park file value, else derived from the national factors."""
    if park.carbon.grid_cfe_share is not None:
        v = park.carbon.grid_cfe_share
        return np.full(n, float(v)), {"value": str(v), "source": "park file carbon.grid_cfe_share (user-stated)"}
    try:
        share, prov = grid_cfe_share(registry, park.carbon.grid_factor)
    except FactorError as exc:
        return None, {"value": None, "source": str(exc)}
    return np.full(n, float(share)), {"source": "derived from the factor registry", **prov}


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
    """Everything the report and the factor series need, from plain inputs.

    ``ie`` may cover more than [start, end) (the accounting span, :func:`accounting_span`): the
    whole of it is accounted, from an empty pool at its first metered interval, and the run is
    the slice [start, end) of that.
    """
    flows, fills = flows_from_energy(park, ie, with_loads=with_loads)
    step_us = flows.interval_minutes * 60_000_000
    if len(flows):
        # intervals before the first metered one carry nothing (all zero, pool empty): the span starts there
        metered = np.flatnonzero(flows.completeness > 0)
        t0 = min(
            int(metered[0]) if len(metered) else len(flows), _clip(_index(flows.starts, step_us, start), len(flows))
        )
        flows, fills = flows.slice(t0, len(flows)), FillInfo(fills.devices, fills.codes[:, t0:])
    n = len(flows)
    i0 = _clip(_index(flows.starts, step_us, start), n) if n else 0
    i1 = _clip(_index(flows.starts, step_us, end), n) if n else 0
    if n:
        span = Period(_utc(flows.starts[0]), _utc(flows.starts[-1]) + dt.timedelta(minutes=flows.interval_minutes))
        deliveries = [d for d in deliveries if d.period.overlaps(span)]
        retirements = [r for r in retirements if r.period.overlaps(span)]
    claims = build_claims(flows.starts, flows.interval_minutes, list(deliveries), list(retirements))
    grid = resolve_factor(registry, park.carbon.grid_factor, flows.starts, flows.interval_minutes)
    residual = resolve_factor(registry, default_residual_ref(park, registry), flows.starts, flows.interval_minutes)
    storage = storage_params(park)
    accounts = account(flows, grid.per_interval, residual.per_interval, claims, storage)
    cfe_share, cfe_prov = resolve_grid_cfe_share(park, registry, n)
    period = Period(start, end)
    window = slice(i0, i1)
    return AccountingRun(
        park,
        start,
        end,
        boundary_of(park),
        FillInfo(fills.devices, fills.codes[:, window]),
        accounts.slice(i0, i1),
        ResolvedFactor(grid.ref, grid.per_interval[window], grid.provenance, grid.constant),
        ResolvedFactor(residual.ref, residual.per_interval[window], residual.provenance, residual.constant),
        storage,
        [d for d in deliveries if d.period.overlaps(period)],
        [r for r in retirements if r.period.overlaps(period)],
        claims.slice(i0, i1),
        _utc(flows.starts[0]) if n else start,
        None if cfe_share is None else cfe_share[window],
        cfe_prov,
    )


def _utc(t64: np.datetime64) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(t64.astype("datetime64[us]").astype(np.int64)) / 1e6, dt.UTC)
