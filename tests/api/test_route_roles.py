"""Walk every route of the OpenAPI schema: no key → 401, wrong role → 403, right role → neither."""

from __future__ import annotations

import re

import httpx
from fastapi.routing import APIRoute

from .conftest import Api

PUBLIC = {"/healthz", "/readyz"}
ROLES = ("gateway", "operator", "auditor", "admin", "tenant")


def _allowed_roles(route: APIRoute) -> frozenset[str] | None:
    stack = [route.dependant]
    while stack:
        dep = stack.pop()
        roles = getattr(dep.call, "allowed_roles", None)
        if roles is not None:
            return frozenset(roles)
        stack.extend(dep.dependencies)
    return None


def _api_routes(routes: list) -> list[APIRoute]:
    """APIRoutes, looking inside included routers (FastAPI keeps them as nested router entries)."""
    out: list[APIRoute] = []
    for r in routes:
        if isinstance(r, APIRoute):
            out.append(r)
        elif hasattr(r, "original_router"):
            out.extend(_api_routes(r.original_router.routes))
    return out


def _fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def test_every_route_declares_a_role_and_enforces_it(demo_api: Api) -> None:
    app = demo_api.app
    schema_paths = httpx.get(f"{demo_api.url}/openapi.json").json()["paths"]
    routes = [r for r in _api_routes(app.routes) if r.include_in_schema]
    assert {r.path for r in routes} == set(schema_paths)  # the walk covers the whole schema
    checked = 0
    with httpx.Client(base_url=demo_api.url, timeout=30) as c:
        for route in routes:
            roles = _allowed_roles(route)
            if route.path in PUBLIC:
                assert roles is None
                continue
            assert roles, f"{route.path} declares no role"
            for method in route.methods:
                url = _fill(route.path)
                r = c.request(method, url)
                assert r.status_code == 401, (method, url, r.status_code)
                for role in ROLES:
                    if role not in demo_api.tokens:
                        continue
                    auth = {"Authorization": f"Bearer {demo_api.tokens[role]}"}
                    with c.stream(method, url, headers=auth) as r:  # the event stream never ends by itself
                        if route.path != "/v1/stream":
                            r.read()
                    if role in roles:
                        assert r.status_code not in (401, 403), (method, url, role, r.status_code)
                    else:
                        assert r.status_code == 403, (method, url, role, r.status_code)
                    checked += 1
    assert checked >= 20
