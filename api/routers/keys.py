"""Admin: API keys (create shows the secret once; list never shows secrets)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from api.deps import StateDep, StoreDep
from api.security import AUTH_RESPONSES, Admin, Problem
from ems.i18n import Msg
from ems.store.keys import ApiKey, create_key, list_keys, revoke_key

router = APIRouter(prefix="/v1/keys", tags=["admin"], responses=AUTH_RESPONSES)


class KeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    role: Literal["gateway", "operator", "auditor", "admin", "tenant"]
    gateway_id: str | None = None
    devices: list[str] = []
    tenant_id: str | None = None


class KeyPublic(BaseModel):
    key_id: str
    name: str
    role: str
    gateway_id: str | None
    devices: list[str]
    tenant_id: str | None
    created_at: dt.datetime
    revoked_at: dt.datetime | None


class KeyCreated(KeyPublic):
    token: str = Field(description="the bearer token; shown once, store it now")


def _public(k: ApiKey) -> dict[str, object]:
    return {
        "key_id": k.key_id,
        "name": k.name,
        "role": k.role,
        "gateway_id": k.gateway_id,
        "devices": list(k.devices),
        "tenant_id": k.tenant_id,
        "created_at": k.created_at,
        "revoked_at": k.revoked_at,
    }


@router.get("", response_model=list[KeyPublic], summary="list keys")
def get_keys(_: Admin, store: StoreDep) -> list[KeyPublic]:
    return [KeyPublic.model_validate(_public(k)) for k in list_keys(store)]


@router.post(
    "",
    response_model=KeyCreated,
    status_code=201,
    summary="create a key",
    responses={400: {"model": Problem, "description": "inconsistent key request"}},
)
def post_key(body: KeyCreate, _: Admin, store: StoreDep) -> KeyCreated:
    try:
        key, token = create_key(store, body.name, body.role, body.gateway_id, body.devices, body.tenant_id)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    return KeyCreated.model_validate(_public(key) | {"token": token})


@router.delete(
    "/{key_id}",
    status_code=204,
    summary="revoke a key",
    responses={404: {"model": Problem, "description": "no such key"}},
)
def delete_key(key_id: str, _: Admin, state: StateDep) -> None:
    if not revoke_key(state.store, key_id):
        raise HTTPException(404, Msg("no active key {key_id!r}", key_id=key_id))
    state.key_cache.drop_key(key_id)
