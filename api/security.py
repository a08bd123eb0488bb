"""Bearer API keys with roles. Every route declares the roles it admits.

Roles: ``gateway`` (writes telemetry for its bound devices only), ``operator``,
``auditor`` (read-only), ``admin`` (keys, config; also everything operators and
auditors may read), ``tenant`` (its own statements). Missing or invalid key → 401;
valid key with the wrong role → 403.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from api.deps import StateDep
from ems.store import StoreUnavailable
from ems.store.keys import ApiKey, gateway_devices, verify_token

_bearer = HTTPBearer(auto_error=False, description="API key: `Authorization: Bearer ems_<id>_<secret>`")


@dataclass(frozen=True)
class Principal:
    key: ApiKey
    devices: frozenset[str]  # writable devices (gateway keys)

    @property
    def role(self) -> str:
        return self.key.role


def authenticate(state: StateDep, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Principal:
    if creds is None or creds.scheme.lower() != "bearer":
        raise HTTPException(401, "missing bearer API key", headers={"WWW-Authenticate": "Bearer"})
    cache = state.key_cache
    principal = cache.get(creds.credentials)
    if principal is None:
        store = state.store
        try:
            key = verify_token(store, creds.credentials)
        except StoreUnavailable:
            raise HTTPException(503, "database unavailable", headers={"Retry-After": "5"}) from None
        if key is None:
            raise HTTPException(401, "invalid or revoked API key", headers={"WWW-Authenticate": "Bearer"})
        devices = frozenset(gateway_devices(store, key)) if key.role == "gateway" else frozenset()
        principal = Principal(key, devices)
        cache.put(creds.credentials, principal)
    state.rate_limiter.check(principal.key.key_id)
    return principal


class KeyCache:
    """Verified keys for a few seconds, so a busy gateway costs no database round trip per request.

    Keyed by the token's SHA-256 (the token itself is never kept). A revocation through this
    API drops the entry at once; one made elsewhere (CLI) takes effect within ``ttl_s``.
    """

    def __init__(self, ttl_s: float = 5.0) -> None:
        self.ttl_s = ttl_s
        self._items: dict[bytes, tuple[float, Principal]] = {}

    @staticmethod
    def _k(token: str) -> bytes:
        return hashlib.sha256(token.encode()).digest()

    def get(self, token: str) -> Principal | None:
        hit = self._items.get(self._k(token))
        if hit is None or time.monotonic() - hit[0] > self.ttl_s:
            return None
        return hit[1]

    def put(self, token: str, principal: Principal) -> None:
        if len(self._items) > 10_000:
            self._items.clear()
        self._items[self._k(token)] = (time.monotonic(), principal)

    def drop_key(self, key_id: str) -> None:
        for k, (_, p) in list(self._items.items()):
            if p.key.key_id == key_id:
                self._items.pop(k, None)


def require(*roles: str) -> Callable[..., Principal]:
    """Dependency admitting the given roles; ``admin`` is admitted to every read route listing it."""
    allowed = frozenset(roles)

    def dep(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if principal.role not in allowed:
            raise HTTPException(403, f"role {principal.role!r} may not use this route (allowed: {sorted(allowed)})")
        return principal

    dep.allowed_roles = allowed  # type: ignore[attr-defined]  # read by the route-walking test
    return dep


Gateway = Annotated[Principal, Depends(require("gateway"))]
Operator = Annotated[Principal, Depends(require("operator", "admin"))]
Reader = Annotated[Principal, Depends(require("operator", "auditor", "admin"))]
Auditor = Annotated[Principal, Depends(require("auditor", "admin"))]
Admin = Annotated[Principal, Depends(require("admin"))]


class Problem(BaseModel):
    """Error body of every non-validation error."""

    detail: str


AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "missing, invalid or revoked API key"},
    403: {"model": Problem, "description": "the key's role may not use this route"},
    429: {"model": Problem, "description": "rate limit exceeded; see Retry-After"},
    503: {"model": Problem, "description": "database unavailable; see Retry-After"},
}
