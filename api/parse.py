"""Turn telemetry request bodies (JSON or CSV) into a ReadingBatch, row by row.

A malformed row never fails the request: it becomes a ``malformed`` rejection
with its row number, and the well-formed rows go on to validation. Timestamps
must carry a time zone (``Z`` or ``±hh:mm``); a naive timestamp is malformed,
because guessing a gateway's local time is how data ends up an hour off.
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import orjson
import pandas as pd

from api.telemetry_schema import ISO_TIME, MAX_EXACT_INT
from ems.quantities import Quality
from ems.telemetry import ReadingBatch, Rejection

CSV_HEADER = ("time", "device", "quantity", "value")


class BodyError(ValueError):
    """The body as a whole cannot be read (not JSON, wrong top-level shape, no CSV header)."""


class TooManyRows(ValueError):
    """More readings than one request may carry; found before any row is looked at."""

    def __init__(self, max_rows: int) -> None:
        super().__init__(f"at most {max_rows} readings per request")


def _has_tz(t: object) -> bool:
    # the declared form (api.telemetry_schema.ISO_TIME); pandas alone also reads "2026-6-1" and the like
    return isinstance(t, str) and ISO_TIME.fullmatch(t) is not None


def _number(v: object) -> float | None:
    """A reading's value as float; None if it is not a number (bools are not numbers, integers
    beyond ±2**53 are not exact as floats, digits other than ASCII are not decimal text)."""
    tv = type(v)
    if tv is float:
        return v  # type: ignore[return-value]
    if tv is int:
        return float(v) if abs(v) <= MAX_EXACT_INT else None  # type: ignore[arg-type]
    if isinstance(v, str) and v.isascii():  # "NaN"/"inf"/"1.5" from CSV; validation refuses non-finite
        try:
            return float(v)
        except ValueError:
            return None
    return None


def _columns_to_batch(
    times: list[Any], devices: list[Any], quantities: list[Any], values: list[Any], qualities: list[Any]
) -> tuple[ReadingBatch, list[Rejection]]:
    n = len(times)
    bad: dict[int, str] = {}
    tz_ok = [_has_tz(t) for t in times]
    parsed = pd.to_datetime(
        pd.Series([t if ok else "" for t, ok in zip(times, tz_ok, strict=True)], dtype=object),
        utc=True,
        format="ISO8601",
        errors="coerce",
    )
    nat = parsed.isna().to_numpy()
    time_us = np.zeros(n, dtype=np.int64)
    ok_t = ~nat
    time_us[ok_t] = parsed[ok_t].dt.tz_localize(None).to_numpy().astype("datetime64[us]").astype(np.int64)
    for k in np.flatnonzero(nat).tolist():
        bad[k] = f"time {times[k]!r} is not an ISO 8601 timestamp with a time zone"
    nums = [_number(v) for v in values]
    for i, f in enumerate(nums):
        if f is None:
            bad.setdefault(i, f"value {values[i]!r} is not a number")
    val = np.array([0.0 if f is None else f for f in nums], dtype=np.float64)
    qual = np.zeros(n, dtype=np.int16)
    lo, hi = int(min(Quality)), int(max(Quality))
    for i, q in enumerate(qualities):
        if q is None:
            continue
        if type(q) is not int or not lo <= q <= hi:
            bad.setdefault(i, f"quality {q!r} is not one of 0..3")
            continue
        qual[i] = q
    for i, (d, q) in enumerate(zip(devices, quantities, strict=True)):
        if type(d) is not str or not d:
            bad.setdefault(i, f"device {d!r} is not a non-empty string")
        if type(q) is not str or not q:
            bad.setdefault(i, f"quantity {q!r} is not a non-empty string")
    batch = ReadingBatch(time_us, np.array(devices, dtype=object), np.array(quantities, dtype=object), val, qual)
    if bad:
        keep = np.ones(n, dtype=bool)
        keep[list(bad)] = False
        batch = batch.take(np.flatnonzero(keep))
    rejections = [Rejection(i, "malformed", why) for i, why in sorted(bad.items())]
    return batch, rejections


def _loads_non_finite(body: bytes, orjson_error: orjson.JSONDecodeError) -> Any:
    """JSON with the bare ``NaN``/``Infinity``/``-Infinity`` that many gateway JSON writers emit for a
    failed sensor (not RFC 8259, so orjson refuses the whole body): read with the standard library,
    whose decoder accepts them, so that only the rows carrying them are rejected (as not finite)."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise BodyError(f"body is not valid JSON: {orjson_error}") from None


def parse_json(body: bytes, max_rows: int | None = None) -> tuple[ReadingBatch, list[Rejection], np.ndarray]:
    """Parse ``{"readings": [{"time", "device", "quantity", "value", "quality"?}, ...]}``.

    Returns the batch, malformed-row rejections, and for each batch row its index in the request.
    More than ``max_rows`` readings raise :class:`TooManyRows`.
    """
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        doc = _loads_non_finite(body, exc)
    rows = doc.get("readings") if isinstance(doc, dict) else None
    if not isinstance(rows, list):
        raise BodyError('body must be an object with a "readings" array')
    if max_rows is not None and len(rows) > max_rows:
        raise TooManyRows(max_rows)
    not_objects = {i: "reading is not an object" for i, r in enumerate(rows) if type(r) is not dict}
    if not_objects:
        rows = [r if type(r) is dict else {} for r in rows]
    times = [r.get("time") for r in rows]
    devices = [r.get("device") for r in rows]
    quantities = [r.get("quantity") for r in rows]
    values = [r.get("value") for r in rows]
    qualities = [r.get("quality") for r in rows]
    return _finish(_columns_to_batch(times, devices, quantities, values, qualities), len(rows), not_objects)


def parse_csv(body: bytes, max_rows: int | None = None) -> tuple[ReadingBatch, list[Rejection], np.ndarray]:
    """Parse CSV with a header ``time,device,quantity,value[,quality]`` (one reading per line).

    More than ``max_rows`` lines after the header raise :class:`TooManyRows` before pandas reads them.
    """
    if max_rows is not None and body.count(b"\n", 0, len(body) - 1) > max_rows:
        raise TooManyRows(max_rows)
    try:
        df = pd.read_csv(io.BytesIO(body), dtype=str, keep_default_na=False, on_bad_lines="error")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise BodyError(f"body is not readable CSV: {exc}") from None
    cols = [c.strip() for c in df.columns]
    if tuple(cols[:4]) != CSV_HEADER:
        raise BodyError(f"CSV header must start with {','.join(CSV_HEADER)}; got {','.join(cols)}")
    df.columns = cols
    qual = df["quality"].tolist() if "quality" in df else [None] * len(df)
    qual_parsed: list[Any] = []
    for q in qual:
        try:
            qual_parsed.append(None if q in (None, "") else int(q))
        except ValueError:
            qual_parsed.append(q)
    return _finish(
        _columns_to_batch(
            df["time"].tolist(), df["device"].tolist(), df["quantity"].tolist(), df["value"].tolist(), qual_parsed
        ),
        len(df),
        {},
    )


def _finish(
    parsed: tuple[ReadingBatch, list[Rejection]], n: int, extra: dict[int, str]
) -> tuple[ReadingBatch, list[Rejection], np.ndarray]:
    batch, rejections = parsed
    if extra:
        bad_rows = {r.row for r in rejections}
        rejections = sorted(
            rejections + [Rejection(i, "malformed", why) for i, why in extra.items() if i not in bad_rows],
            key=lambda r: r.row,
        )
        # rows that were not objects parsed as all-None and are already rejected above
    bad = {r.row for r in rejections}
    row_index = np.array([i for i in range(n) if i not in bad], dtype=np.int64)
    return batch, rejections, row_index
