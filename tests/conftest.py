"""Shared fixtures: a real PostgreSQL server (embedded, or EMS_TEST_DATABASE_URL) and the example parks.

Each ``store``/``demo_store`` gets a fresh database on that server, so tests never see
each other's rows. ``pg_server`` is None when an external URL is used (then tests that
restart the server skip with a message).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from ems.park import Park, example_park_path, load_park
from ems.store import Store
from ems.store.server import EmbeddedServer


@pytest.fixture(scope="session")
def pg_server() -> Iterator[EmbeddedServer | None]:
    if os.environ.get("EMS_TEST_DATABASE_URL"):
        yield None
        return
    # Not under pytest's tmp_path: pytest resets /tmp/pytest-of-<user> to mode 0700 whenever a
    # session starts, which would lock the server's own system user out of its data directory.
    data_dir = Path(tempfile.mkdtemp(prefix="ems-test-pg-"))
    server = EmbeddedServer(data_dir)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_url(pg_server: EmbeddedServer | None) -> str:
    """URL of the PostgreSQL server under test (its maintenance database)."""
    external = os.environ.get("EMS_TEST_DATABASE_URL")
    if external:
        return external
    assert pg_server is not None
    return pg_server.start()  # idempotent: returns the running server's URL


def _with_dbname(url: str, dbname: str) -> str:
    return psycopg.conninfo.make_conninfo(url, dbname=dbname)


@pytest.fixture
def fresh_db_url(pg_url: str) -> Iterator[str]:
    """URL of a new, empty database; dropped afterwards."""
    name = f"ems_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield _with_dbname(pg_url, name)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def restart_pg(pg_server: EmbeddedServer | None):  # type: ignore[no-untyped-def]
    """Call to restart the database server process (breaks every open connection)."""
    if pg_server is None:
        pytest.skip("restart needs the embedded server; unset EMS_TEST_DATABASE_URL to run it")
    return pg_server.restart


@pytest.fixture(scope="session")
def demo_park() -> Park:
    return load_park(example_park_path("demo"))


@pytest.fixture(scope="session")
def tiny_park() -> Park:
    return load_park(example_park_path("tiny"))


@pytest.fixture
def store(fresh_db_url: str, tiny_park: Park) -> Iterator[Store]:
    s = Store.connect(fresh_db_url, tiny_park)
    yield s
    s.close()


@pytest.fixture
def demo_store(fresh_db_url: str, demo_park: Park) -> Iterator[Store]:
    s = Store.connect(fresh_db_url, demo_park)
    yield s
    s.close()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests keep artifacts (screenshots, plots) for people to look at."""
    path = Path(__file__).resolve().parent.parent / "artifacts"
    path.mkdir(exist_ok=True)
    return path
