"""One way from a gateway's telemetry body to the store, shared by ``POST /v1/telemetry`` and the MQTT bridge.

``parse_body`` inflates and parses (JSON or CSV, malformed rows become rejections with their row
number); ``store_parsed`` validates and stores the well-formed rows for the devices the gateway may
write and merges every rejection back into request order. Both are synchronous (run them in a
worker thread). The store's first-write-wins rule on (device, quantity, time) makes a repeated
body a counted duplicate, never a second row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from api.limits import decompress
from api.parse import parse_csv, parse_json
from ems.store import Store
from ems.telemetry import IngestResult, ReadingBatch, Rejection


@dataclass
class IngestOutcome:
    submitted: int
    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)  # row = index in the body, in body order


def parse_body(
    body: bytes, encoding: str, csv: bool, max_bytes: int, max_rows: int
) -> tuple[ReadingBatch, list[Rejection], np.ndarray]:
    """Inflate and parse, refusing a body over the limits as early as they show.

    Raises :class:`api.parse.BodyError` / :class:`api.limits.BodyUnreadable` (unreadable) and
    :class:`api.limits.BodyTooLarge` / :class:`api.parse.TooManyRows` (over the limits).
    """
    raw = decompress(body, encoding, max_bytes, max_lines=max_rows + 1 if csv else None)
    return parse_csv(raw, max_rows) if csv else parse_json(raw, max_rows)


def store_parsed(
    store: Store,
    parsed: tuple[ReadingBatch, list[Rejection], np.ndarray],
    allowed_devices: set[str],
    source: str,
) -> IngestOutcome:
    """Validate and store the parsed rows; raises :class:`ems.store.StoreUnavailable` (nothing stored)."""
    batch, malformed, index = parsed
    result = IngestResult()
    if len(batch):
        result = store.ingest(batch, source=source, allowed_devices=allowed_devices)
    rejected = sorted(
        malformed + [Rejection(int(index[r.row]), r.reason, r.detail) for r in result.rejected], key=lambda r: r.row
    )
    return IngestOutcome(len(index) + len(malformed), result.accepted, result.duplicates, rejected)
