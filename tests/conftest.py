"""Shared fixtures: a real PostgreSQL server (embedded, or EMS_TEST_DATABASE_URL) and the example parks.

Each ``store``/``demo_store`` gets a fresh database on that server, so tests never see
each other's rows. ``pg_server`` is None when an external URL is used (then tests that
restart the server skip with a message).

Both backends, one fixture: ``backend`` ("postgresql" or "timescaledb") picks the embedded
server every database fixture uses. The suites in :data:`BOTH_BACKENDS` are parametrised
over both (a second embedded server, preloading TimescaleDB, starts once per session on
first use); elsewhere ``backend`` is plain PostgreSQL. Without a TimescaleDB build
(``ems db timescaledb build``) the suites run on plain PostgreSQL and the header says so;
``EMS_TEST_REQUIRE_TIMESCALEDB=1`` (set by ``.ci/run``) makes that an error instead.
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
from ems.store.server import EmbeddedServer, timescale_installed

# Suites (path prefixes from the repository root) whose database tests run on both backends:
# the store, telemetry, carbon, footprint and API ingest/report paths.
BOTH_BACKENDS = (
    "tests/ems/",
    "tests/carbon/test_ledger_db.py",
    "tests/footprint/",
    "tests/api/test_telemetry_api.py",
    "tests/api/test_carbon_api.py",
)
ROOT = Path(__file__).resolve().parent.parent
EXTERNAL = os.environ.get("EMS_TEST_DATABASE_URL")
TIMESCALEDB = EXTERNAL is None and timescale_installed()


def pytest_report_header() -> str:
    if EXTERNAL:
        return "database: EMS_TEST_DATABASE_URL (one backend, whatever that server runs)"
    if TIMESCALEDB:
        return "database backends: postgresql and timescaledb (embedded servers)"
    return "database backends: postgresql only: TimescaleDB is not built (ems db timescaledb build --source ...)"


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("EMS_TEST_REQUIRE_TIMESCALEDB") == "1" and not TIMESCALEDB:
        raise pytest.UsageError(
            "EMS_TEST_REQUIRE_TIMESCALEDB=1 but TimescaleDB is not installed (or an external URL is set)"
        )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" not in metafunc.fixturenames or EXTERNAL:
        return
    if any(m.name == "parametrize" and "backend" in m.args[0] for m in metafunc.definition.iter_markers()):
        return  # the test chose its backends itself
    path = metafunc.definition.path.relative_to(ROOT).as_posix()
    if any(path.startswith(prefix) for prefix in BOTH_BACKENDS):
        params = ["postgresql", "timescaledb"] if TIMESCALEDB else ["postgresql"]
        metafunc.parametrize("backend", params, indirect=True, scope="session")


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest) -> str:
    """The backend under test: "postgresql" unless the test is parametrised over both."""
    name: str = getattr(request, "param", "postgresql")
    if name == "timescaledb" and not TIMESCALEDB:
        pytest.skip("TimescaleDB is not built: ems db timescaledb build --source ...")
    return name


@pytest.fixture(scope="session")
def _embedded_servers() -> Iterator[dict[str, EmbeddedServer]]:
    """One embedded server per backend, started on first use and kept for the session."""
    servers: dict[str, EmbeddedServer] = {}
    yield servers
    for server in servers.values():
        server.stop()
        shutil.rmtree(server.pgdata.parent, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server(backend: str, _embedded_servers: dict[str, EmbeddedServer]) -> EmbeddedServer | None:
    if EXTERNAL:
        return None
    if backend not in _embedded_servers:
        # Not under pytest's tmp_path: pytest resets /tmp/pytest-of-<user> to mode 0700 whenever a
        # session starts, which would lock the server's own system user out of its data directory.
        data_dir = Path(tempfile.mkdtemp(prefix=f"ems-test-{backend}-"))
        server = EmbeddedServer(data_dir, timescaledb=backend == "timescaledb")
        server.start()
        _embedded_servers[backend] = server
    return _embedded_servers[backend]


@pytest.fixture(scope="session")
def pg_url(pg_server: EmbeddedServer | None) -> str:
    """URL of the PostgreSQL server under test (its maintenance database)."""
    if EXTERNAL:
        return EXTERNAL
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


def connect_checked(url: str, park: Park, backend: str) -> Store:
    """Store.connect, failing the test if the store did not take the backend under test."""
    s = Store.connect(url, park)
    if not EXTERNAL:
        assert s.backend is not None and s.backend.name == backend, f"expected {backend}, store took {s.backend}"
    return s


@pytest.fixture
def store(fresh_db_url: str, tiny_park: Park, backend: str) -> Iterator[Store]:
    s = connect_checked(fresh_db_url, tiny_park, backend)
    yield s
    s.close()


@pytest.fixture
def demo_store(fresh_db_url: str, demo_park: Park, backend: str) -> Iterator[Store]:
    s = connect_checked(fresh_db_url, demo_park, backend)
    yield s
    s.close()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests keep artifacts (screenshots, plots) for people to look at."""
    path = Path(__file__).resolve().parent.parent / "artifacts"
    path.mkdir(exist_ok=True)
    return path
