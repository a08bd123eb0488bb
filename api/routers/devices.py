"""Devices: the park's device list, poll health, latest values."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import HealthProviderDep, ParkDep, StoreDep
from api.security import AUTH_RESPONSES, AnyKey, Reader
from ems.quantities import QUANTITIES

router = APIRouter(prefix="/v1", tags=["devices"], responses=AUTH_RESPONSES)


class DevicePublic(BaseModel):
    id: str
    name: str
    type: str
    bus: str
    connection: str
    control_enabled: bool
    rating_kw: float | None


class QuantityPublic(BaseModel):
    name: str
    unit: str
    kind: str
    description: str


class HealthPublic(BaseModel):
    device: str
    state: str
    detail: dict[str, str | float | int | None]


class LatestPublic(BaseModel):
    device: str
    quantity: str
    unit: str
    time: dt.datetime
    value: float
    quality: int


@router.get("/devices", response_model=list[DevicePublic], summary="devices of the park")
def list_devices(_: Reader, park: ParkDep) -> list[DevicePublic]:
    out = []
    for d in park.devices:
        rating = next((getattr(d, a) for a in ("p_rated_kw", "p_discharge_max_kw", "p_peak_kw") if hasattr(d, a)), None)
        if d.type == "wind":
            rating = d.p_total_kw
        out.append(
            DevicePublic(
                id=d.id,
                name=d.name,
                type=d.type,
                bus=d.bus,
                connection=d.connection.kind,
                control_enabled=d.control.enabled,
                rating_kw=rating,
            )
        )
    return out


@router.get("/quantities", response_model=list[QuantityPublic], summary="canonical telemetry quantities and units")
def list_quantities(_: AnyKey) -> list[QuantityPublic]:
    """Every key may read them: a gateway needs the list its telemetry schema points to."""
    return [
        QuantityPublic(name=q.name, unit=q.unit, kind=q.kind, description=q.description) for q in QUANTITIES.values()
    ]


@router.get("/devices/health", response_model=list[HealthPublic], summary="poll health (ok/degraded/offline)")
def device_health(_: Reader, park: ParkDep, provider: HealthProviderDep) -> list[HealthPublic]:
    polled = {str(h["device"]): h for h in provider()} if provider else {}
    out = []
    for d in park.devices:
        h = polled.get(d.id)
        if h is None:
            state = "pushed" if d.connection.kind == "gateway" else "not_polled"
            out.append(HealthPublic(device=d.id, state=state, detail={}))
        else:
            detail = {
                k: (v if isinstance(v, str | int | float) or v is None else str(v))
                for k, v in h.items()
                if k not in ("device", "state")
            }
            out.append(HealthPublic(device=d.id, state=str(h["state"]), detail=detail))
    return out


@router.get("/devices/latest", response_model=list[LatestPublic], summary="latest value of every series")
def latest(_: Reader, store: StoreDep) -> list[LatestPublic]:
    return [
        LatestPublic(
            device=r.device,
            quantity=r.quantity,
            unit=QUANTITIES[r.quantity].unit,
            time=r.time,
            value=r.value,
            quality=r.quality,
        )
        for r in store.latest()
    ]
