"""Bearer API keys with roles. Every route declares the roles it admits.

Roles: ``gateway`` (writes telemetry for its bound devices only), ``operator``,
``auditor`` (read-only), ``admin`` (keys, config; also everything operators and
auditors may read), ``tenant`` (its own statements). Missing or invalid key → 401;
valid key with the wrong role → 403.

Guessing is throttled per client address: each invalid or revoked key spends a token of that
address's bucket (``auth_failures_burst``, refilled at ``auth_failures_per_min``); with none left,
keys not verified in the last few seconds (:class:`~api.principal.KeyCache`) get 429 and
``Retry-After`` without being checked, so an exhausted bucket gives no oracle. Valid keys spend
nothing, and other addresses are unaffected. Behind a proxy the address is the one uvicorn
takes from ``X-Forwarded-For`` (``--forwarded-allow-ips``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from api.deps import StateDep
from api.principal import Principal
from ems.i18n import Msg
from ems.store import StoreUnavailable
from ems.store.keys import gateway_devices, verify_token

_bearer = HTTPBearer(auto_error=False, description="API key: `Authorization: Bearer ems_<id>_<secret>`")


def authenticate(
    request: Request, state: StateDep, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if creds is None or creds.scheme.lower() != "bearer":
        raise HTTPException(401, Msg("missing bearer API key"), headers={"WWW-Authenticate": "Bearer"})
    cache = state.key_cache
    principal = cache.get(creds.credentials)
    if principal is None:
        client = request.client.host if request.client else "unknown"
        if throttled := state.auth_failures.refused(client, "too many failed authentications from this address"):
            raise throttled
        store = state.store
        try:
            key = verify_token(store, creds.credentials)
        except StoreUnavailable:
            raise HTTPException(503, Msg("database unavailable"), headers={"Retry-After": "5"}) from None
        if key is None:
            state.auth_failures.spend(client)
            raise HTTPException(401, Msg("invalid or revoked API key"), headers={"WWW-Authenticate": "Bearer"})
        devices = frozenset(gateway_devices(store, key)) if key.role == "gateway" else frozenset()
        principal = Principal(key, devices)
        cache.put(creds.credentials, principal)
    state.rate_limiter.check(principal.key.key_id)
    return principal


def require(*roles: str) -> Callable[..., Principal]:
    """Dependency admitting the given roles; ``admin`` is admitted to every read route listing it."""
    allowed = frozenset(roles)

    def dep(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if principal.role not in allowed:
            raise HTTPException(
                403,
                Msg(
                    "role {role!r} may not use this route (allowed: {allowed})",
                    role=principal.role,
                    allowed=sorted(allowed),
                ),
            )
        return principal

    dep.allowed_roles = allowed  # type: ignore[attr-defined]  # read by the route-walking test
    return dep


Gateway = Annotated[Principal, Depends(require("gateway"))]
Operator = Annotated[Principal, Depends(require("operator", "admin"))]
Reader = Annotated[Principal, Depends(require("operator", "auditor", "admin"))]
Auditor = Annotated[Principal, Depends(require("auditor", "admin"))]
Admin = Annotated[Principal, Depends(require("admin"))]
AnyKey = Annotated[Principal, Depends(require("gateway", "operator", "auditor", "admin", "tenant"))]  # public facts


class Problem(BaseModel):
    """Error body of every non-validation error."""

    detail: str


AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "missing, invalid or revoked API key"},
    403: {"model": Problem, "description": "the key's role may not use this route"},
    429: {"model": Problem, "description": "rate limit exceeded; see Retry-After"},
    503: {"model": Problem, "description": "database unavailable; see Retry-After"},
}
