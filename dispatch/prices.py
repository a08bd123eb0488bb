"""Per-interval import and export prices from a file (spot markets, dynamic tariffs).

China's provincial spot markets publish day-ahead and real-time prices per 15 minutes; the NEM
publishes them per 5 minutes. A price file is a CSV with a header and one row per price period::

    start,import_cny_per_kwh,export_cny_per_kwh
    2026-05-01T00:00:00+08:00,0.412,0.380
    2026-05-01T00:15:00+08:00,-0.050,-0.080

Each row holds from its ``start`` until the next row's (the last one for the median period length).
Prices may be negative. A dispatch interval gets the time-weighted mean of the prices it overlaps,
so any file resolution works with any interval length (5-minute prices in 60-minute intervals,
15-minute prices in 5-minute intervals). A horizon not fully covered by the file is an error naming
the first uncovered interval, never a silent extrapolation.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np

COLUMNS = ("start", "import_cny_per_kwh", "export_cny_per_kwh")


class PriceFileError(ValueError):
    """A price file cannot be read or does not cover a horizon; the message names file, row and problem."""


@dataclass(frozen=True)
class PriceSeries:
    """Step-wise prices: period starts (UTC ``datetime64[us]``, ascending), period end, prices [CNY/kWh]."""

    starts: np.ndarray
    end: np.datetime64
    import_cny_per_kwh: np.ndarray
    export_cny_per_kwh: np.ndarray
    source: str = ""

    def interval_means(self, times: np.ndarray, dt_h: float) -> tuple[np.ndarray, np.ndarray]:
        """Time-weighted mean import and export price of each interval ``[t, t + dt_h)`` [CNY/kWh]."""
        t0 = np.asarray(times, dtype="datetime64[us]")
        t1 = t0 + np.timedelta64(round(dt_h * 3_600_000_000), "us")
        if t0.size and (t0[0] < self.starts[0] or t1[-1] > self.end):
            bad = int(np.argmax((t0 < self.starts[0]) | (t1 > self.end)))
            raise PriceFileError(
                f"{self.source}: prices cover {self.starts[0]}..{self.end} UTC, "
                f"interval {bad} ({t0[bad]} UTC) is outside"
            )
        edges = np.append(self.starts, self.end).astype(np.int64)

        def integral(values: np.ndarray, at: np.ndarray) -> np.ndarray:
            cum = np.concatenate([[0.0], np.cumsum(values * np.diff(edges))])
            x = at.astype(np.int64)
            k = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(values) - 1)
            return cum[k] + values[k] * (x - edges[k])

        width = (t1 - t0).astype(np.int64).astype(float)
        out = [(integral(v, t1) - integral(v, t0)) / width for v in (self.import_cny_per_kwh, self.export_cny_per_kwh)]
        return out[0], out[1]


def read_price_csv(path: str | Path) -> PriceSeries:
    """Read a price file (module docstring); every bad row is named in one :class:`PriceFileError`."""
    p = Path(path)
    try:
        rows = list(csv.reader(p.read_text(encoding="utf-8").splitlines()))
    except OSError as exc:
        raise PriceFileError(f"{p}: cannot read file: {exc.strerror}") from None
    if not rows or tuple(c.strip() for c in rows[0]) != COLUMNS:
        raise PriceFileError(f"{p}: the header must be {','.join(COLUMNS)}")
    starts, imp, exp, problems = [], [], [], []
    for i, row in enumerate(rows[1:], start=2):
        try:
            if len(row) != 3:
                raise ValueError(f"{len(row)} fields, expected 3")
            t = dt.datetime.fromisoformat(row[0].strip())
            if t.tzinfo is None:
                raise ValueError(f"start {row[0]!r} has no UTC offset")
            a, b = float(row[1]), float(row[2])
            if not (np.isfinite(a) and np.isfinite(b)):
                raise ValueError("prices must be finite")
        except ValueError as exc:
            problems.append(f"{p}: line {i}: {exc}")
            continue
        starts.append(np.datetime64(t.astimezone(dt.UTC).replace(tzinfo=None), "us"))
        imp.append(a)
        exp.append(b)
    if not starts and not problems:
        problems.append(f"{p}: no price rows")
    s = np.array(starts, dtype="datetime64[us]")
    if s.size > 1 and np.any(np.diff(s) <= np.timedelta64(0, "us")):
        problems.append(f"{p}: line {int(np.argmax(np.diff(s) <= np.timedelta64(0, 'us'))) + 3}: starts not ascending")
    if problems:
        raise PriceFileError("\n".join(problems))
    step = np.median(np.diff(s)) if s.size > 1 else np.timedelta64(15, "m")
    return PriceSeries(s, s[-1] + step, np.array(imp), np.array(exp), source=str(p))
