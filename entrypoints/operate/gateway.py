"""A simulated telemetry gateway: devices the park reaches through a gateway (connection kind
``gateway``) pushed through ``POST /v1/telemetry`` with that gateway's API key, as a real gateway would."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from ems.park import Gateway, Park
from entrypoints.operate.clock import Clock


def gateway_devices(park: Park) -> dict[str, list[str]]:
    """Device ids per gateway id."""
    out: dict[str, list[str]] = {}
    for d in park.devices:
        if isinstance(d.connection, Gateway):
            out.setdefault(d.connection.gateway_id, []).append(d.id)
    return out


@dataclass
class GatewayStats:
    posts: int = 0
    accepted: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)


class SimulatedGateway:
    """Every ``period_s`` (wall) posts ``p_kw`` of each gateway device, value ``sample(device, t)`` at the
    simulated time ``clock()``."""

    def __init__(
        self,
        base_url: str,
        tokens: dict[str, str],
        devices: dict[str, list[str]],
        sample: Callable[[str, dt.datetime], float],
        clock: Clock,
        period_s: float,
    ) -> None:
        self.base_url = base_url
        self.tokens = tokens
        self.devices = devices
        self.sample = sample
        self.clock = clock
        self.period_s = period_s
        self.stats = GatewayStats()

    async def push_once(self, client: httpx.AsyncClient) -> None:
        t = self.clock()
        stamp = t.astimezone(dt.UTC).isoformat()
        for gw, devs in self.devices.items():
            body = {
                "readings": [{"time": stamp, "device": d, "quantity": "p_kw", "value": self.sample(d, t)} for d in devs]
            }
            try:
                r = await client.post(
                    "/v1/telemetry", json=body, headers={"Authorization": f"Bearer {self.tokens[gw]}"}
                )
            except httpx.HTTPError as exc:  # the API restarting must not end the gateway
                self.stats.errors.append(f"{gw}: {type(exc).__name__}: {exc}")
                continue
            self.stats.posts += 1
            if r.status_code != 200:
                self.stats.errors.append(f"{gw}: HTTP {r.status_code}: {r.text[:200]}")
                continue
            rep = r.json()
            self.stats.accepted += int(rep["accepted"])
            self.stats.rejected += len(rep["rejected"])

    async def run(self, stop: asyncio.Event) -> None:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=10.0) as client:
            while not stop.is_set():
                await self.push_once(client)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.period_s)
            await self.push_once(client)  # the last sample up to the end
