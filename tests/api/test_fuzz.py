"""Fuzz the API from its own OpenAPI schema (schemathesis) over real HTTP: no 5xx, no schema violations."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ems.park import Park
from ems.store import Store

from .conftest import Api, make_api

CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def fuzz_api(demo_store: Store, demo_park: Park) -> Iterator[Api]:
    a = make_api(demo_store, demo_park, rate_limit_per_s=10_000.0, rate_limit_burst=10_000)
    yield a
    a.server.stop()


def test_api_fuzz(fuzz_api: Api) -> None:
    """Every operation, a bounded number of generated requests each (derandomised: reproducible)."""
    schema = schemathesis.openapi.from_url(f"{fuzz_api.url}/openapi.json")
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 6
    for op in operations:
        if op.path == "/v1/stream":
            continue  # an endless event stream: tests/api/test_console_api.py reads it
        role = "gateway" if op.path.startswith("/v1/telemetry") else "admin"
        _fuzz_operation(op, fuzz_api.url, {"Authorization": f"Bearer {fuzz_api.tokens[role]}"})


def _fuzz_operation(op, base_url: str, headers: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
    @given(op.as_strategy())
    def run(case) -> None:  # type: ignore[no-untyped-def]
        case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS)

    run()
