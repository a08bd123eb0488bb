"""What the notifier keeps between cycles: the park's network model and the year-to-date budget.

Without it every cycle (``ems notify``, once a minute) rebuilt the pandapower network and reran the
carbon accounting from 1 January twice. The network depends on the park file only; it is kept per
park content (the notifier reads its park file once at start, so a changed park file takes a
restart, as for the poller). The budget is kept per (park content, period end, inputs version):
the period end moves once per park interval, and :func:`ems.carbon.service.inputs_version` changes
when a reading lands in the accounting span or a ledger or factor entry is added, so a late reading
for an earlier interval is accounted in the next cycle.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ems.carbon import service as carbon
from ems.park import Park
from ems.store import Store

if TYPE_CHECKING:
    from grid_models import ParkNetwork


def park_digest(park: Park) -> str:
    """SHA-256 of the park's validated content: equal parks share cached results."""
    return hashlib.sha256(park.model_dump_json().encode()).hexdigest()


@dataclass
class NotifierCache:
    hits: int = 0
    misses: int = 0
    _network: tuple[str, ParkNetwork] | None = field(default=None, repr=False)
    _budget: tuple[Hashable, dict[str, Any]] | None = field(default=None, repr=False)

    def network(self, park: Park, build: Callable[[Park], ParkNetwork]) -> ParkNetwork:
        digest = park_digest(park)
        if self._network is None or self._network[0] != digest:
            self._network = (digest, build(park))
        return self._network[1]

    def budget(
        self, store: Store, park: Park, end: dt.datetime, compute: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        """The budget status as of ``end`` from ``compute()``, reused while its inputs are unchanged."""
        key = (park_digest(park), end, carbon.inputs_version(store, park, carbon.year_start(park, end), end))
        if self._budget is not None and self._budget[0] == key:
            self.hits += 1
            return self._budget[1]
        self.misses += 1
        self._budget = (key, compute())
        return self._budget[1]
