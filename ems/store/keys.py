"""API keys: creation, lookup, revocation. Secrets are random 256-bit tokens; only their SHA-256 is stored.

A key reads ``ems_<key_id>_<secret>``. SHA-256 without a slow KDF is appropriate because
the secret is 256 bits of randomness (nothing to brute-force), and it keeps the per-request
check cheap; comparison is constant-time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from ems.store.store import Store

ROLES = ("gateway", "operator", "auditor", "admin", "tenant")


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    name: str
    role: str
    gateway_id: str | None
    devices: tuple[str, ...]
    tenant_id: str | None
    created_at: dt.datetime
    revoked_at: dt.datetime | None


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def create_key(
    store: Store,
    name: str,
    role: str,
    gateway_id: str | None = None,
    devices: list[str] | None = None,
    tenant_id: str | None = None,
) -> tuple[ApiKey, str]:
    """Create a key; returns it and the full token (shown once, never stored)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    if role == "gateway" and not gateway_id and not devices:
        raise ValueError("a gateway key needs a gateway id or a device list")
    if role == "tenant" and not tenant_id:
        raise ValueError("a tenant key needs a tenant id")
    known = {d.id for d in store.park.devices}
    unknown = [d for d in devices or [] if d not in known]
    if unknown:
        raise ValueError(f"unknown devices: {', '.join(unknown)}")
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    with store.connection() as conn:
        row = conn.execute(
            "INSERT INTO api_key (key_id, name, role, secret_sha256, gateway_id, devices, tenant_id) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING created_at",
            (key_id, name, role, _digest(secret), gateway_id, list(devices or []), tenant_id),
        ).fetchone()
    assert row is not None
    key = ApiKey(key_id, name, role, gateway_id, tuple(devices or []), tenant_id, row[0], None)
    return key, f"ems_{key_id}_{secret}"


def verify_token(store: Store, token: str) -> ApiKey | None:
    """The active key for a bearer token, or None (unknown, malformed, revoked or wrong secret)."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "ems":
        return None
    _, key_id, secret = parts
    with store.connection() as conn:
        row = conn.execute(
            "SELECT key_id, name, role, gateway_id, devices, tenant_id, created_at, revoked_at, secret_sha256 "
            "FROM api_key WHERE key_id = %s",
            (key_id,),
        ).fetchone()
    if row is None or row[7] is not None:
        return None
    if not hmac.compare_digest(bytes(row[8]), _digest(secret)):
        return None
    return ApiKey(row[0], row[1], row[2], row[3], tuple(row[4]), row[5], row[6], row[7])


def list_keys(store: Store) -> list[ApiKey]:
    with store.connection() as conn:
        rows = conn.execute(
            "SELECT key_id, name, role, gateway_id, devices, tenant_id, created_at, revoked_at FROM api_key "
            "ORDER BY created_at"
        ).fetchall()
    return [ApiKey(r[0], r[1], r[2], r[3], tuple(r[4]), r[5], r[6], r[7]) for r in rows]


def revoke_key(store: Store, key_id: str) -> bool:
    with store.connection() as conn:
        cur = conn.execute("UPDATE api_key SET revoked_at = now() WHERE key_id = %s AND revoked_at IS NULL", (key_id,))
        return cur.rowcount == 1


def gateway_devices(store: Store, key: ApiKey) -> set[str]:
    """Devices a gateway key may write: those its park connection binds to it, plus its explicit list."""
    bound = (
        {
            d.id
            for d in store.park.devices
            if getattr(d.connection, "kind", None) == "gateway" and d.connection.gateway_id == key.gateway_id  # type: ignore[union-attr]
        }
        if key.gateway_id
        else set()
    )
    return bound | set(key.devices)
