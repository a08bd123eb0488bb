"""Open the store the settings ask for: the configured URL, or an embedded server under the data directory."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ems.park import Park
from ems.settings import Settings
from ems.store.server import EmbeddedServer
from ems.store.store import Store
from ems.telemetry import Validator


@contextmanager
def open_store(settings: Settings, park: Park) -> Iterator[Store]:
    """Yield a connected, migrated Store; stops the embedded server (if one was started) on exit."""
    server: EmbeddedServer | None = None
    url = settings.database_url_plain()
    if url is None:
        server = EmbeddedServer(
            settings.data_dir,
            log_rotation_mb=settings.embedded_log_rotation_mb,
            log_files=settings.embedded_log_files,
        )
        url = server.start()
    validator = Validator(
        park,
        max_future_s=settings.ingest_max_future_s,
        max_age_s=settings.ingest_late_window_s,
        min_time=settings.ingest_min_time,
    )
    try:
        store = Store.connect(url, park, validator=validator, max_gap_s=settings.rollup_max_gap_s)
        try:
            yield store
        finally:
            store.close()
    finally:
        if server is not None:
            server.stop()
