"""Turn telemetry request bodies (JSON or CSV) into a ReadingBatch, row by row.

A malformed row never fails the request: it becomes a ``malformed`` rejection
with its row number, and the well-formed rows go on to validation. Timestamps
must carry a time zone (``Z`` or ``±hh:mm``); a naive timestamp is malformed,
because guessing a gateway's local time is how data ends up an hour off.
"""

from __future__ import annotations

import io
import math
import re
from typing import Any

import numpy as np
import orjson
import pandas as pd

from ems.quantities import Quality
from ems.telemetry import ReadingBatch, Rejection

_TZ_SUFFIX = re.compile(r"(Z|[+-]\d\d:?\d\d)$")
CSV_HEADER = ("time", "device", "quantity", "value")


class BodyError(ValueError):
    """The body as a whole cannot be read (not JSON, wrong top-level shape, no CSV header)."""


def _columns_to_batch(times: list[Any], devices: list[Any], quantities: list[Any], values: list[Any],
                      qualities: list[Any]) -> tuple[ReadingBatch, list[Rejection]]:
    n = len(times)
    bad: dict[int, str] = {}
    t_str = [t if isinstance(t, str) else "" for t in times]
    for i, t in enumerate(times):
        if not isinstance(t, str) or not _TZ_SUFFIX.search(t):
            bad[i] = f"time {t!r} is not an ISO 8601 timestamp with a time zone"
    parsed = pd.to_datetime(pd.Series(t_str, dtype=object), utc=True, format="ISO8601", errors="coerce")
    time_us = np.zeros(n, dtype=np.int64)
    nat = parsed.isna().to_numpy()
    ok_t = ~nat
    time_us[ok_t] = parsed[ok_t].dt.tz_localize(None).to_numpy().astype("datetime64[us]").astype(np.int64)
    for i in np.flatnonzero(nat):
        bad.setdefault(int(i), f"time {times[i]!r} is not an ISO 8601 timestamp with a time zone")
    val = np.zeros(n)
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, int | float):
            if isinstance(v, str):  # "NaN"/"inf" strings reach validation as non-finite numbers
                try:
                    f = float(v)
                except ValueError:
                    bad.setdefault(i, f"value {v!r} is not a number")
                    continue
                val[i] = f
                continue
            bad.setdefault(i, f"value {v!r} is not a number")
            continue
        val[i] = float(v) if not (isinstance(v, int) and abs(v) > 2**53) else math.inf
    qual = np.zeros(n, dtype=np.int16)
    for i, q in enumerate(qualities):
        if q is None:
            continue
        if isinstance(q, bool) or not isinstance(q, int) or not int(min(Quality)) <= q <= int(max(Quality)):
            bad.setdefault(i, f"quality {q!r} is not one of 0..3")
            continue
        qual[i] = q
    for i, (d, q) in enumerate(zip(devices, quantities, strict=True)):
        if not isinstance(d, str) or not d:
            bad.setdefault(i, f"device {d!r} is not a non-empty string")
        if not isinstance(q, str) or not q:
            bad.setdefault(i, f"quantity {q!r} is not a non-empty string")
    keep = np.array([i not in bad for i in range(n)], dtype=bool)
    batch = ReadingBatch(
        time_us, np.array(devices, dtype=object), np.array(quantities, dtype=object), val, qual
    ).take(np.flatnonzero(keep))
    rejections = [Rejection(i, "malformed", why) for i, why in sorted(bad.items())]
    return batch, rejections


def parse_json(body: bytes) -> tuple[ReadingBatch, list[Rejection], np.ndarray]:
    """Parse ``{"readings": [{"time", "device", "quantity", "value", "quality"?}, ...]}``.

    Returns the batch, malformed-row rejections, and for each batch row its index in the request.
    """
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BodyError(f"body is not valid JSON: {exc}") from None
    rows = doc.get("readings") if isinstance(doc, dict) else None
    if not isinstance(rows, list):
        raise BodyError('body must be an object with a "readings" array')
    times, devices, quantities, values, qualities = [], [], [], [], []
    not_objects: dict[int, str] = {}
    for i, r in enumerate(rows):
        if not isinstance(r, dict):
            not_objects[i] = "reading is not an object"
            r = {}
        times.append(r.get("time"))
        devices.append(r.get("device"))
        quantities.append(r.get("quantity"))
        values.append(r.get("value"))
        qualities.append(r.get("quality"))
    return _finish(_columns_to_batch(times, devices, quantities, values, qualities), len(rows), not_objects)


def parse_csv(body: bytes) -> tuple[ReadingBatch, list[Rejection], np.ndarray]:
    """Parse CSV with a header ``time,device,quantity,value[,quality]`` (one reading per line)."""
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
        _columns_to_batch(df["time"].tolist(), df["device"].tolist(), df["quantity"].tolist(),
                          df["value"].tolist(), qual_parsed),
        len(df), {},
    )


def _finish(parsed: tuple[ReadingBatch, list[Rejection]], n: int, extra: dict[int, str]
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
