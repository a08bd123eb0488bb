"""Schemathesis over every route and every role, against the live app: no 5xx, no schema violation.

    python benchmarks/api_fuzz.py [--quick] [--cases N]

The API runs in its own process (uvicorn, as in benchmarks/api.py) on the demo park over an
embedded PostgreSQL. Schemathesis reads the app's OpenAPI document and generates requests for
every operation (derandomised: a run is reproducible), each sent with a key of every role and
with none: ``--cases`` requests in all (10,000 by default, 300 with --quick), shared evenly
among the (operation, role) pairs. Each answer is checked for server errors, undeclared status
codes, content types and bodies that do not match the declared schema. Without a key of its
own, schemathesis sends invented bearer tokens (the routes declare bearer security): the server
runs without rate limits and failed-authentication throttling, or the 429s would hide the
routes. The baseline, in the same run, is the plain request rate of the same client on
``GET /healthz``.

Exits 1 if any case failed (the failures are listed).
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import database_url, emit, wait_healthy
from ems.park import example_park_path, load_park

ROLES = ("gateway", "operator", "auditor", "admin", "tenant", None)  # None: no key


def _serve(url: str, port: int, ready: Any) -> None:
    """The app without rate limits: requests come fast from one address, with many invalid keys."""
    import uvicorn

    from api.app import create_app
    from ems.settings import Settings
    from ems.store import Store

    park = load_park(example_park_path("demo"))
    store = Store.connect(url, park, pool_size=8)
    settings = Settings(rate_limit_per_s=1e9, rate_limit_burst=10**9, auth_failures_burst=10**9)
    config = uvicorn.Config(create_app(settings, park, store), host="127.0.0.1", port=port, log_level="warning")
    ready.set()
    uvicorn.Server(config).run()


def _keys(store: Any, park: Any) -> dict[str | None, dict[str, str]]:
    from ems.store.keys import create_key

    gw = next(d.connection.gateway_id for d in park.devices if d.connection.kind == "gateway")
    headers: dict[str | None, dict[str, str]] = {None: {}}
    for role in ROLES[:-1]:
        extra = {"gateway": {"gateway_id": gw}, "tenant": {"tenant_id": park.tenants[0].id}}.get(role, {})
        token = create_key(store, f"fuzz {role}", role, **extra)[1]
        headers[role] = {"Authorization": f"Bearer {token}"}
    return headers


def _fuzz(base: str, headers: dict[str | None, dict[str, str]], per_pair: int) -> tuple[int, list[str], Counter[int]]:
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    checks = [
        schemathesis.checks.not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    operations = [r.ok() for r in schema.get_all_operations()]  # type: ignore[union-attr]
    cases, failures, statuses = 0, [], Counter[int]()

    def runner(op: Any, role: str | None) -> Any:
        @settings(
            max_examples=per_pair,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        @given(op.as_strategy())
        def run(case: Any) -> None:
            nonlocal cases
            cases += 1
            try:
                # a month-long re-plan with its AC check is legitimately slow (it runs off the event loop,
                # other requests are served meanwhile): the client waits for it rather than counting a timeout
                response = case.call(base_url=base, headers=headers[role], timeout=180)
                statuses[response.status_code] += 1
                case.validate_response(response, checks=checks)
            except (Exception, BaseExceptionGroup) as exc:  # recorded, not raised: no shrinking, the run goes on
                failures.append(f"{op.method.upper()} {op.path} as {role or 'anonymous'}: {exc}"[:400])

        return run

    for op in operations:
        for role in ROLES:
            runner(op, role)()
    return cases, failures, statuses


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--cases", type=int, default=None, help="requests in all (default 10,000; 300 with --quick)")
    args = ap.parse_args()
    total = args.cases or (300 if args.quick else 10_000)
    park = load_park(example_park_path("demo"))
    from api.server import free_port
    from ems.store import Store

    with database_url() as url:
        store = Store.connect(url, park)
        headers = _keys(store, park)
        port = free_port()
        ctx = mp.get_context("spawn")
        ready = ctx.Event()
        proc = ctx.Process(target=_serve, args=(url, port, ready))  # not daemonic: pathway jobs start workers
        proc.start()
        ready.wait(60)
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base)
        try:
            spec = httpx.get(f"{base}/openapi.json", timeout=120).json()
            n_ops = len(spec["paths"])
            with httpx.Client(base_url=base, timeout=60) as c:
                t = time.perf_counter()
                n_base = 0
                while time.perf_counter() - t < 3.0:
                    c.get("/healthz").raise_for_status()
                    n_base += 1
                base_rate = n_base / (time.perf_counter() - t)
            schema_ops = sum(len(v) for v in spec["paths"].values())
            per_pair = max(1, math.ceil(total / (schema_ops * len(ROLES))))
            t = time.perf_counter()
            cases, failures, statuses = _fuzz(base, headers, per_pair)
            took = time.perf_counter() - t
        finally:
            proc.terminate()
            proc.join(10)
            store.close()
    rate = cases / took
    for f in failures[:20]:
        print("FAILED", f)
    print(
        f"{cases:,} cases over {schema_ops} operations ({n_ops} paths) x {len(ROLES)} roles "
        f"({per_pair} per pair) in {took:.0f} s: {rate:.0f} cases/s vs {base_rate:.0f} plain /healthz requests/s "
        f"(ratio {rate / base_rate:.2f}); {len(failures)} failures; statuses {dict(sorted(statuses.items()))}"
    )
    emit(
        {
            "cases": cases,
            "operations": schema_ops,
            "roles": len(ROLES),
            "failures": len(failures),
            "server_errors": sum(n for s, n in statuses.items() if s >= 500),
            "seconds": round(took, 1),
            "cases_per_s": round(rate, 1),
            "healthz_requests_per_s": round(base_rate, 1),
            "ratio_vs_healthz": round(rate / base_rate, 3),
        }
    )
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
