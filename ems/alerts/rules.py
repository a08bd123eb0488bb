"""Alert rules: pure functions from :class:`Observations` to :class:`Finding` lists.

Each rule looks at one kind of trouble; :data:`RULES` names them (an unknown name lists the valid
ones). Thresholds are :class:`Thresholds`, with the defaults chosen as below.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Finding:
    """A condition that holds now. (rule, subject) identifies it across evaluations."""

    rule: str
    subject: str
    severity: str  # info | warning | critical
    message: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Thresholds:
    device_stale_s: float = 900.0  # 15 min: a 1-min poller has missed 15 cycles
    gateway_silent_s: float = 900.0
    min_coverage: float = 0.9  # share of the look-back window covered by samples
    forecast_nmae: float = 0.25  # MAE / rated power over the look-back day
    budget_share: float = 1.0  # projected annual emissions / budget
    fallback_count: int = 1  # fallback schedules in the look-back window


@dataclass(frozen=True)
class Observations:
    """What the rules look at, gathered at ``now`` (services.alerts.observe)."""

    now: dt.datetime
    last_seen: dict[str, dt.datetime | None]  # device -> latest reading (None: never)
    gateways: dict[str, list[str]]  # gateway id -> its devices
    coverage: dict[str, float]  # device -> share of the look-back window with samples
    forecast_nmae: dict[str, float]  # series -> MAE / rated power
    violations: list[dict[str, Any]]  # grid_models.Violation as dicts
    budget: dict[str, Any] | None  # ems.carbon.indicators.BudgetStatus.as_dict(), None: no budget
    fallbacks: list[dict[str, Any]]  # schedules with status "fallback" in the look-back window


Rule = Callable[[Observations, Thresholds], list[Finding]]


def _age_s(obs: Observations, device: str) -> float | None:
    seen = obs.last_seen.get(device)
    return None if seen is None else (obs.now - seen).total_seconds()


def device_stale(obs: Observations, th: Thresholds) -> list[Finding]:
    """A device's latest reading is older than ``device_stale_s`` (or it never reported)."""
    out = []
    for dev in sorted(obs.last_seen):
        age = _age_s(obs, dev)
        if age is None or age > th.device_stale_s:
            seen = obs.last_seen[dev]
            when = (
                "never reported"
                if seen is None or age is None
                else f"last seen {seen.isoformat()} ({age / 60:.0f} min ago)"
            )
            out.append(
                Finding(
                    "device_stale",
                    dev,
                    "warning",
                    f"device {dev}: {when}",
                    {"last_seen": None if seen is None else seen.isoformat(), "age_s": age},
                )
            )
    return out


def gateway_silent(obs: Observations, th: Thresholds) -> list[Finding]:
    """None of a gateway's devices has reported for ``gateway_silent_s``: the gateway itself is down."""
    out = []
    for gw, devices in sorted(obs.gateways.items()):
        seen = [t for d in devices if (t := obs.last_seen.get(d)) is not None]
        latest = max(seen, default=None)
        age = None if latest is None else (obs.now - latest).total_seconds()
        if age is None or age > th.gateway_silent_s:
            when = (
                "never pushed"
                if latest is None or age is None
                else f"last push {latest.isoformat()} ({age / 3600:.1f} h ago)"
            )
            out.append(
                Finding(
                    "gateway_silent",
                    gw,
                    "critical",
                    f"gateway {gw}: {when}",
                    {"last_seen": None if latest is None else latest.isoformat(), "age_s": age},
                )
            )
    return out


def data_gap(obs: Observations, th: Thresholds) -> list[Finding]:
    """A device reports (stale is its own rule) but covers less than ``min_coverage`` of the look-back window."""
    return [
        Finding(
            "data_gap",
            dev,
            "warning",
            f"device {dev}: data covers {cov:.0%} of the last window",
            {"coverage": round(cov, 4)},
        )
        for dev, cov in sorted(obs.coverage.items())
        if cov < th.min_coverage and (age := _age_s(obs, dev)) is not None and age <= th.device_stale_s
    ]


def forecast_error(obs: Observations, th: Thresholds) -> list[Finding]:
    """A forecast's mean absolute error exceeds ``forecast_nmae`` of the series' rated power."""
    return [
        Finding("forecast_error", s, "warning", f"forecast {s}: MAE {e:.0%} of rated power", {"nmae": round(e, 4)})
        for s, e in sorted(obs.forecast_nmae.items())
        if e > th.forecast_nmae
    ]


def grid_violation(obs: Observations, th: Thresholds) -> list[Finding]:
    """Every limit the latest power flow exceeds (one alert per kind and element)."""
    out = []
    for v in obs.violations:
        subject = f"{v['kind']}:{v['element']}"
        out.append(
            Finding(
                "grid_violation",
                subject,
                "critical",
                f"grid: {v['kind']} at {v['element']}: {v.get('value')} (limit {v.get('limit')})",
                dict(v),
            )
        )
    return sorted(out, key=lambda f: f.subject)


def budget_projection(obs: Observations, th: Thresholds) -> list[Finding]:
    """Projected annual emissions (year to date, extrapolated) exceed the carbon budget."""
    b = obs.budget
    if b is None or b.get("used_share") is None:
        return []
    share = float(b["projected_t"]) / float(b["budget_t"])
    if share <= th.budget_share:
        return []
    return [
        Finding(
            "budget_projection",
            "park",
            "warning",
            f"carbon budget {b['year']}: projected {b['projected_t']} t against {b['budget_t']} t ({share:.0%})",
            {**b, "projected_share": round(share, 4)},
        )
    ]


def solver_fallback(obs: Observations, th: Thresholds) -> list[Finding]:
    """The optimiser failed and the rule-based fallback ran (``fallback_count`` times or more)."""
    if len(obs.fallbacks) < th.fallback_count:
        return []
    reasons = sorted({str(f.get("fallback_reason")) for f in obs.fallbacks})
    return [
        Finding(
            "solver_fallback",
            "dispatch",
            "warning",
            f"dispatch: {len(obs.fallbacks)} fallback schedule(s): {'; '.join(reasons)}"[:500],
            {"count": len(obs.fallbacks), "reasons": reasons},
        )
    ]


RULES: dict[str, Rule] = {
    "device_stale": device_stale,
    "gateway_silent": gateway_silent,
    "data_gap": data_gap,
    "forecast_error": forecast_error,
    "grid_violation": grid_violation,
    "budget_projection": budget_projection,
    "solver_fallback": solver_fallback,
}


def evaluate(obs: Observations, th: Thresholds | None = None, rules: list[str] | None = None) -> list[Finding]:
    """Findings of the named rules (all by default), in rule order."""
    names = list(RULES) if rules is None else rules
    unknown = [n for n in names if n not in RULES]
    if unknown:
        raise ValueError(f"unknown alert rule(s) {unknown}; valid: {', '.join(RULES)}")
    th = th or Thresholds()
    return [f for n in names for f in RULES[n](obs, th)]
