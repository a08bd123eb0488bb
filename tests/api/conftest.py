"""A real API server (uvicorn on a loopback port) over a real database, with a key per role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from api.app import create_app
from api.server import BackgroundServer
from ems.park import Park
from ems.settings import Settings
from ems.store import Store
from ems.store.keys import create_key


@dataclass
class Api:
    url: str
    store: Store
    tokens: dict[str, str]  # role -> bearer token
    server: BackgroundServer
    app: object

    def client(self, role: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


def make_api(store: Store, park: Park, **settings_kw: object) -> Api:
    settings = Settings(**settings_kw)  # type: ignore[arg-type]
    app = create_app(settings, park, store)
    tokens = {}
    gw = next(d.connection.gateway_id for d in park.devices if d.connection.kind == "gateway")  # type: ignore[union-attr]
    for role in ("gateway", "operator", "auditor", "admin"):
        _, tokens[role] = create_key(store, f"test {role}", role, gateway_id=gw if role == "gateway" else None)
    if park.tenants:
        _, tokens["tenant"] = create_key(store, "test tenant", "tenant", tenant_id=park.tenants[0].id)
    server = BackgroundServer(app).start()
    return Api(server.url, store, tokens, server, app)


@pytest.fixture
def api(store: Store, tiny_park: Park) -> Iterator[Api]:
    a = make_api(store, tiny_park)
    yield a
    a.server.stop()


@pytest.fixture
def demo_api(demo_store: Store, demo_park: Park) -> Iterator[Api]:
    a = make_api(demo_store, demo_park)
    yield a
    a.server.stop()
