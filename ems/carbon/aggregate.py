"""From per-interval floats to reported decimals, and from intervals to hours, days, months, years.

Rounding rule (stated once, used everywhere a figure is reported or hashed):

1. every per-interval energy [kWh] and CO2 [kg] is computed in IEEE double precision and
   rounded half-to-even to an integer number of milli-units (Wh, gCO2): ``round(x * 1000)``;
2. every total is the exact integer sum of those rounded interval values, so the totals in a
   report always equal the sum of its interval rows;
3. factors are exact decimal quotients of such totals, rounded half-to-even to 0.000001
   kgCO2/kWh (0.001 gCO2/kWh); shares to 0.000001.

Periods (hour, day, month, year) are calendar periods in the park's time zone.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np
import pandas as pd

RESOLUTIONS = ("interval", "hour", "day", "month", "year")
METHODS = ("location", "market")
_Q_FACTOR = Decimal("0.000001")
_Q_G = Decimal("0.001")
_Q_SHARE = Decimal("0.000001")


def to_milli(x: np.ndarray) -> np.ndarray:
    """Round half-to-even to integer milli-units (kWh → Wh, kg → g)."""
    return np.rint(np.asarray(x, dtype=float) * 1000.0).astype(np.int64)


def milli_to_decimal(v: int) -> Decimal:
    return Decimal(int(v)).scaleb(-3)


def milli_strings(v: np.ndarray) -> list[str]:
    """Integer milli-units as decimal strings with three decimals ("-1.250"), exactly.

    ``v / 1000`` in double precision is within 1e-12 relative of the decimal value for
    |v| < 2**53 / 1000, so '%.3f' prints exactly the integer's digits (checked in the tests).
    """
    if len(v) and int(np.abs(v).max()) >= 2**53 // 1000:
        raise ValueError("value too large for exact milli formatting")
    return ["%.3f" % x for x in (v / 1000.0).tolist()]  # noqa: UP031 (fastest exact form)


def ratio(num_milli: int, den_milli: int, q: Decimal = _Q_FACTOR) -> Decimal | None:
    """Exact decimal quotient of two milli totals, rounded half-to-even; None when the denominator is 0."""
    if den_milli == 0:
        return None
    return (Decimal(int(num_milli)) / Decimal(int(den_milli))).quantize(q, rounding=ROUND_HALF_EVEN)


def group_index(starts: np.ndarray, tz: str, resolution: str) -> tuple[np.ndarray, list[dt.datetime]]:
    """Group id per interval and the local start of each group (aware datetimes, ascending)."""
    if resolution not in RESOLUTIONS:
        raise ValueError(f"resolution must be one of {RESOLUTIONS}, got {resolution!r}")
    zone = zoneinfo.ZoneInfo(tz)
    if resolution == "interval":
        idx = np.arange(len(starts))
        labels = [
            dt.datetime.fromtimestamp(int(t) / 1e6, dt.UTC).astimezone(zone)
            for t in starts.astype("datetime64[us]").astype(np.int64)
        ]
        return idx, labels
    local = pd.DatetimeIndex(starts).tz_localize("UTC").tz_convert(tz)
    if resolution == "hour":
        key = local.floor("h")
    elif resolution == "day":
        key = local.normalize()
    elif resolution == "month":
        key = local.normalize() - pd.to_timedelta(local.day - 1, unit="D")
    else:
        key = local.normalize() - pd.to_timedelta(local.dayofyear - 1, unit="D")
    codes, uniques = pd.factorize(key, sort=True)
    return np.asarray(codes), [u.to_pydatetime() for u in uniques]


def group_sum(values_milli: np.ndarray, codes: np.ndarray, n: int) -> np.ndarray:
    """Exact integer sums per group."""
    out = np.zeros(n, dtype=np.int64)
    np.add.at(out, codes, values_milli)
    return out


@dataclass(frozen=True)
class FactorPoint:
    """Park emission factor over one period (the API's series element)."""

    time: dt.datetime  # local period start
    method: str
    value_g_per_kwh: Decimal | None  # None when the period has no consumption
    emissions_kg: Decimal
    consumption_kwh: Decimal
    completeness: Decimal  # mean interval completeness in [0, 1]
    estimated: bool  # some interval value in the period was gap-filled

    def as_dict(self) -> dict[str, object]:
        return {
            "time": self.time.isoformat(),
            "method": self.method,
            "value_g_per_kwh": None if self.value_g_per_kwh is None else str(self.value_g_per_kwh),
            "emissions_kg": str(self.emissions_kg),
            "consumption_kwh": str(self.consumption_kwh),
            "completeness": str(self.completeness),
            "estimated": self.estimated,
        }


def factor_points(
    starts: np.ndarray,
    tz: str,
    resolution: str,
    method: str,
    attributed_kg: np.ndarray,
    consumption_kwh: np.ndarray,
    completeness: np.ndarray,
    estimated: np.ndarray,
) -> list[FactorPoint]:
    """Park emission factor per period: ``EF = sum(A) / sum(K)`` over the period's intervals [gCO2/kWh]."""
    return grouped_factor_points(
        group_index(starts, tz, resolution), method, attributed_kg, consumption_kwh, completeness, estimated
    )


def grouped_factor_points(
    groups: tuple[np.ndarray, list[dt.datetime]],
    method: str,
    attributed_kg: np.ndarray,
    consumption_kwh: np.ndarray,
    completeness: np.ndarray,
    estimated: np.ndarray,
) -> list[FactorPoint]:
    """:func:`factor_points` over a precomputed :func:`group_index` (shared by both methods)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    codes, labels = groups
    n = len(labels)
    a = group_sum(to_milli(attributed_kg), codes, n)
    k = group_sum(to_milli(consumption_kwh), codes, n)
    cnt = np.bincount(codes, minlength=n)
    comp = np.bincount(codes, weights=np.asarray(completeness, dtype=float), minlength=n) / np.maximum(cnt, 1)
    est = np.bincount(codes, weights=np.asarray(estimated, dtype=float), minlength=n) > 0
    out = []
    for j in range(n):
        ef = ratio(int(a[j]) * 1000, int(k[j]), _Q_G)  # kg/kWh * 1000 = g/kWh
        out.append(
            FactorPoint(
                labels[j],
                method,
                ef,
                milli_to_decimal(a[j]),
                milli_to_decimal(k[j]),
                Decimal(repr(round(float(comp[j]), 6))).quantize(_Q_SHARE),
                bool(est[j]),
            )
        )
    return out
