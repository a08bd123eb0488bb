"""PostgreSQL access: embedded server, migrations, telemetry ingest and rollups.

Public API: :class:`Store`, :func:`open_store`, :class:`IntervalEnergy`,
:class:`StoreUnavailable`. The TimescaleDB differences live in :mod:`ems.store.backend`.
"""

from ems.store.errors import StoreError, StoreUnavailable
from ems.store.open import open_store
from ems.store.store import IntervalEnergy, LatestReading, SeriesTable, Store

__all__ = ["IntervalEnergy", "LatestReading", "SeriesTable", "Store", "StoreError", "StoreUnavailable", "open_store"]
