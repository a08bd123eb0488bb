"""The canonical reading and its validation: the single door for data from drivers and gateways.

A batch is columnar (numpy arrays) so that a million readings validate in
milliseconds. Validation never raises for bad rows: it splits a batch into the
rows to store and a list of :class:`Rejection` with a reason per row.

Rules (each rejection reason is a stable code, listed in ``REASONS``):

* ``unknown_device`` / ``unknown_quantity``: not in the park file / :mod:`ems.quantities`;
* ``not_finite``: NaN or ±inf;
* ``out_of_range``: outside the quantity's physical bounds or the device's ratings
  (active power and its setpoint beyond ``RANGE_FACTOR`` × rating in the direction the device
  can flow; reactive power beyond ``RANGE_FACTOR`` × rating either way);
* ``future``: timestamp more than ``max_future_s`` ahead of the receiving clock (clock skew);
* ``too_early``: timestamp before ``min_time`` (default 2000-01-01 UTC: a device clock reset to
  1970 or a garbage year, never real data for a park this software runs);
* ``too_late``: older than the late window (``max_age_s``), when one is configured;
* ``bad_quality``: quality flag not one of :class:`ems.quantities.Quality`;
* ``duplicate_in_batch``: the same (device, quantity, time) twice in one batch; the first is kept.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd

from ems.park import Battery, Load, Meter, Park, PvPlant, WindTurbine
from ems.quantities import EARLIEST_READING, QUANTITIES, Quality

RANGE_FACTOR = 1.25  # headroom over nameplate before a power value is called garbage
REASONS = (
    "unknown_device",
    "unknown_quantity",
    "not_finite",
    "out_of_range",
    "future",
    "too_late",
    "bad_quality",
    "duplicate_in_batch",
    "forbidden_device",
    "malformed",
    "too_early",
)
RATED_QUANTITIES = ("p_kw", "p_setpoint_kw")  # bounded by the device's active-power range


@dataclass
class ReadingBatch:
    """Columnar readings. ``time_us`` is UTC microseconds since the Unix epoch."""

    time_us: np.ndarray  # int64
    device: np.ndarray  # object (str)
    quantity: np.ndarray  # object (str)
    value: np.ndarray  # float64
    quality: np.ndarray  # int16

    def __len__(self) -> int:
        return len(self.time_us)

    @classmethod
    def from_rows(cls, rows: Sequence[tuple[dt.datetime, str, str, float, int]]) -> ReadingBatch:
        """Build from (time, device, quantity, value, quality) tuples; times must be timezone-aware."""
        n = len(rows)
        t = np.empty(n, dtype=np.int64)
        for i, r in enumerate(rows):
            if r[0].tzinfo is None:
                raise ValueError(f"row {i}: timestamp {r[0]!r} has no time zone")
            t[i] = to_us(r[0])
        return cls(
            time_us=t,
            device=np.array([r[1] for r in rows], dtype=object),
            quantity=np.array([r[2] for r in rows], dtype=object),
            value=np.array([r[3] for r in rows], dtype=np.float64),
            quality=np.array([r[4] for r in rows], dtype=np.int16),
        )

    def take(self, idx: np.ndarray) -> ReadingBatch:
        return ReadingBatch(self.time_us[idx], self.device[idx], self.quantity[idx], self.value[idx], self.quality[idx])

    @classmethod
    def concat(cls, batches: Sequence[ReadingBatch]) -> ReadingBatch:
        if not batches:
            return cls.empty()
        return cls(*(np.concatenate([getattr(b, f) for b in batches]) for f in _FIELDS))

    @classmethod
    def from_us_rows(cls, rows: Sequence[tuple[int, str, str, float, int]]) -> ReadingBatch:
        """Build from (time µs since the epoch, device, quantity, value, quality) tuples, as pollers buffer them."""
        if not rows:
            return cls.empty()
        t, dev, q, v, f = zip(*rows, strict=True)
        return cls(
            np.array(t, dtype=np.int64),
            np.array(dev, dtype=object),
            np.array(q, dtype=object),
            np.array(v, dtype=np.float64),
            np.array(f, dtype=np.int16),
        )

    @classmethod
    def empty(cls) -> ReadingBatch:
        return cls(
            np.empty(0, np.int64),
            np.empty(0, object),
            np.empty(0, object),
            np.empty(0, np.float64),
            np.empty(0, np.int16),
        )


_FIELDS = ("time_us", "device", "quantity", "value", "quality")


@dataclass(frozen=True)
class Rejection:
    row: int  # index in the submitted batch
    reason: str  # one of REASONS
    detail: str


@dataclass
class IngestResult:
    """Outcome of one batch: every submitted row is accepted, a duplicate, or rejected."""

    submitted: int = 0
    accepted: int = 0  # new rows stored
    duplicates: int = 0  # already stored (same device, quantity, time): first write wins
    rejected: list[Rejection] = field(default_factory=list)

    def merge(self, other: IngestResult, row_offset: int = 0) -> None:
        self.submitted += other.submitted
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.rejected.extend(Rejection(r.row + row_offset, r.reason, r.detail) for r in other.rejected)


class TelemetrySink(Protocol):
    """Where validated readings go: the store, or the poller's spool while the store is down."""

    def ingest(self, batch: ReadingBatch) -> IngestResult: ...


def to_us(t: dt.datetime) -> int:
    delta = t - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(us: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=int(us))


def _bound(q: object, side: str) -> float:
    v = getattr(q, side, None)
    return (-np.inf if side == "lo" else np.inf) if v is None else float(v)


def power_bounds_kw(device: object) -> tuple[float, float]:
    """Physically plausible active-power range of a device [kW], generator convention."""
    f = RANGE_FACTOR
    if isinstance(device, PvPlant):
        return -0.05 * device.p_rated_kw, f * device.p_rated_kw
    if isinstance(device, WindTurbine):
        return -0.05 * device.p_total_kw, f * device.p_total_kw
    if isinstance(device, Battery):
        return -f * device.p_charge_max_kw, f * device.p_discharge_max_kw
    if isinstance(device, Load):
        return -f * device.p_peak_kw, 0.05 * device.p_peak_kw
    if isinstance(device, Meter):
        return -f * device.p_rated_kw, f * device.p_rated_kw
    raise TypeError(f"no power bounds for {type(device).__name__}")


@dataclass(frozen=True)
class Validator:
    """Validates batches against one park. Build once, reuse for every batch."""

    park: Park
    max_future_s: float = 300.0
    max_age_s: float | None = None  # None = accept any late data
    min_time: dt.datetime = EARLIEST_READING

    def validate(
        self,
        batch: ReadingBatch,
        now: dt.datetime | None = None,
        allowed_devices: set[str] | None = None,
    ) -> tuple[ReadingBatch, list[Rejection]]:
        n = len(batch)
        reason = np.full(n, -1, dtype=np.int16)  # index into REASONS; -1 = ok
        detail: dict[int, str] = {}

        def mark(mask: np.ndarray, code: str, why: object) -> None:
            hit = mask & (reason < 0)
            reason[hit] = REASONS.index(code)
            for i in np.flatnonzero(hit):
                detail[int(i)] = why(int(i)) if callable(why) else str(why)

        devices = {d.id: d for d in self.park.devices}
        # work on integer codes: comparing object arrays per device is what makes naive validation slow
        dev_code, dev_uniq = pd.factorize(batch.device, use_na_sentinel=False)
        q_code, q_uniq = pd.factorize(batch.quantity, use_na_sentinel=False)
        dev_ok_lut = np.array([d in devices for d in dev_uniq], dtype=bool)
        dev_known = dev_ok_lut[dev_code]
        mark(~dev_known, "unknown_device", lambda i: f"device {batch.device[i]!r} is not in the park file")
        if allowed_devices is not None:
            allowed = np.array([d in allowed_devices for d in dev_uniq], dtype=bool)[dev_code]
            mark(~allowed, "forbidden_device", lambda i: f"this gateway may not write device {batch.device[i]!r}")
        q_known = np.array([q in QUANTITIES for q in q_uniq], dtype=bool)[q_code]
        mark(~q_known, "unknown_quantity", lambda i: f"quantity {batch.quantity[i]!r} is unknown")
        finite = np.isfinite(batch.value)
        mark(~finite, "not_finite", lambda i: f"value {batch.value[i]!r} is not a finite number")
        good_q = (batch.quality >= min(Quality)) & (batch.quality <= max(Quality))
        mark(~good_q, "bad_quality", lambda i: f"quality {int(batch.quality[i])} is not one of 0..3")

        # physical bounds: per quantity, and per device's rating for active power
        q_lo = np.array([_bound(QUANTITIES.get(q), "lo") for q in q_uniq])
        q_hi = np.array([_bound(QUANTITIES.get(q), "hi") for q in q_uniq])
        lo, hi = q_lo[q_code], q_hi[q_code]
        rated = np.array([q in RATED_QUANTITIES or q == "q_kvar" for q in q_uniq], dtype=bool)[q_code]
        if rated.any():
            bounds = np.array([power_bounds_kw(devices[d]) if d in devices else (-np.inf, np.inf) for d in dev_uniq])
            is_p = np.array([q in RATED_QUANTITIES for q in q_uniq], dtype=bool)[q_code]
            lo = np.where(is_p, bounds[dev_code, 0], lo)
            hi = np.where(is_p, bounds[dev_code, 1], hi)
            # reactive power can flow either way; its magnitude is bounded by the same rating
            s_max = np.abs(bounds).max(axis=1)[dev_code]
            is_q = rated & ~is_p
            lo = np.where(is_q, -s_max, lo)
            hi = np.where(is_q, s_max, hi)
        with np.errstate(invalid="ignore"):
            bad_range = finite & ((batch.value < lo) | (batch.value > hi))
        mark(
            bad_range,
            "out_of_range",
            lambda i: f"{batch.quantity[i]}={batch.value[i]:g} outside [{lo[i]:g}, {hi[i]:g}] for {batch.device[i]}",
        )

        now_us = to_us(now or dt.datetime.now(dt.UTC))
        mark(
            batch.time_us > now_us + int(self.max_future_s * 1e6),
            "future",
            lambda i: (
                f"timestamp {from_us(int(batch.time_us[i])).isoformat()} is more than "
                f"{self.max_future_s:g} s in the future (clock skew?)"
            ),
        )
        mark(
            batch.time_us < to_us(self.min_time),
            "too_early",
            lambda i: (
                f"timestamp {from_us(int(batch.time_us[i])).isoformat()} is before {self.min_time.isoformat()} "
                "(device clock reset?)"
            ),
        )
        if self.max_age_s is not None:
            mark(
                batch.time_us < now_us - int(self.max_age_s * 1e6),
                "too_late",
                lambda i: (
                    f"timestamp {from_us(int(batch.time_us[i])).isoformat()} is older than the late window "
                    f"of {self.max_age_s:g} s"
                ),
            )

        ok = np.flatnonzero(reason < 0)
        # duplicates inside the batch: keep the first occurrence (lexsort is stable)
        if len(ok) > 1:
            series = dev_code[ok].astype(np.int64) * (len(q_uniq) + 1) + q_code[ok]
            order = np.lexsort((batch.time_us[ok], series))
            same = (np.diff(series[order]) == 0) & (np.diff(batch.time_us[ok][order]) == 0)
            if same.any():
                dup_rows = ok[order[1:][same]]
                mask = np.zeros(n, dtype=bool)
                mask[dup_rows] = True
                mark(mask, "duplicate_in_batch", "same device, quantity and time earlier in this batch")
                ok = np.flatnonzero(reason < 0)
        rejections = [Rejection(int(i), REASONS[reason[i]], detail[int(i)]) for i in np.flatnonzero(reason >= 0)]
        return batch.take(ok), rejections
