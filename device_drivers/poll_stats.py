"""What a poller (or a standalone IEC 104 client) has read, journaled and delivered."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class PollStats:
    readings: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    sink_errors: int = 0
    last_sink_error: str = ""
    journaled: int = 0  # readings appended to the journal (durable)
    delivered: int = 0  # journal rows handed to the sink and removed
    store_down_since: float | None = None  # time.monotonic() of the first failed delivery of an outage
