"""MQTT ingestion for gateways that publish instead of POSTing (``ems mqtt``).

Topics, one pair per gateway (``<prefix>`` defaults to ``ems``)::

    <prefix>/gateways/<gateway_id>/telemetry   gateway -> EMS   the body of POST /v1/telemetry (JSON)
    <prefix>/gateways/<gateway_id>/reply       EMS -> gateway   one report per message (QoS 1)

Payloads, limits and validation are those of ``POST /v1/telemetry`` (:mod:`api.ingest`, one
code path). A reply carries ``submitted``, ``accepted``, ``duplicates`` and the row-by-row
``rejected`` list, plus the message's ``"batch"`` field (if it had one) and the MQTT 5
correlation data, so a gateway matches replies to its messages.

Who may write what (the same rule as the HTTP route): the broker authenticates each gateway
with its own username and password and its ACL lets user ``<gateway_id>`` publish only on its
own telemetry topic and read only its own reply topic (``deploy/mosquitto/ems.acl``), so the
topic names the gateway. The bridge then allows exactly the devices a gateway API key of that
gateway could write (:func:`ems.store.keys.gateway_devices`) and only while such a key is active:
revoking the gateway's keys stops its MQTT ingestion too (within ``key_ttl_s``).

At-least-once: gateways publish with QoS 1 and re-send a message for which no reply came; the
store keeps the first write of (device, quantity, time), so a repeat is counted as duplicates in
its reply and never stored twice. The bridge's session is persistent (``clean_session=False``),
so the broker keeps QoS 1 messages that arrive while the bridge is down.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

import aiomqtt
import orjson

from api.ingest import IngestOutcome, parse_body, store_parsed
from api.limits import BodyTooLarge, BodyUnreadable
from api.parse import BodyError, TooManyRows
from ems.store import Store, StoreUnavailable
from ems.store.keys import gateway_devices, list_keys

log = logging.getLogger(__name__)


@dataclass
class BridgeStats:
    messages: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0  # readings
    refused: int = 0  # whole messages (unreadable, too large, unknown gateway)
    store_errors: int = 0
    by_gateway: dict[str, int] = field(default_factory=dict)


class GatewayDevices:
    """Devices each gateway may write, from its active API keys; cached ``ttl_s`` seconds."""

    def __init__(self, store: Store, ttl_s: float = 5.0) -> None:
        self.store = store
        self.ttl_s = ttl_s
        self._at = -float("inf")
        self._devices: dict[str, frozenset[str]] = {}

    def of(self, gateway_id: str) -> frozenset[str] | None:
        """The devices ``gateway_id`` may write, or None if it has no active gateway key."""
        if time.monotonic() - self._at > self.ttl_s:
            devices: dict[str, set[str]] = {}
            for key in list_keys(self.store):
                if key.role == "gateway" and key.gateway_id and key.revoked_at is None:
                    devices.setdefault(key.gateway_id, set()).update(gateway_devices(self.store, key))
            self._devices = {g: frozenset(d) for g, d in devices.items()}
            self._at = time.monotonic()
        return self._devices.get(gateway_id)


class MqttBridge:
    """Subscribes to every gateway's telemetry topic and stores what arrives; see the module docstring."""

    def __init__(
        self,
        store: Store,
        host: str,
        port: int = 1883,
        *,
        username: str | None = None,
        password: str | None = None,
        prefix: str = "ems",
        max_bytes: int = 16 * 1024 * 1024,
        max_rows: int = 100_000,
        client_id: str = "ems-bridge",
        key_ttl_s: float = 5.0,
    ) -> None:
        self.store = store
        self.host, self.port = host, port
        self.username, self.password = username, password
        self.prefix = prefix
        self.max_bytes, self.max_rows = max_bytes, max_rows
        self.client_id = client_id
        self.gateways = GatewayDevices(store, key_ttl_s)
        self.stats = BridgeStats()
        self.ready = asyncio.Event()  # set once subscribed

    def topic(self, gateway_id: str, kind: str) -> str:
        return f"{self.prefix}/gateways/{gateway_id}/{kind}"

    def handle(self, gateway_id: str, payload: bytes) -> dict[str, object]:
        """Parse, authorise and store one message; the reply document (runs in a worker thread).

        Raises :class:`StoreUnavailable` (nothing stored): the message gets no reply and the gateway re-sends.
        """
        allowed = self.gateways.of(gateway_id)
        if allowed is None:
            self.stats.refused += 1
            return {"error": f"gateway {gateway_id!r} has no active gateway API key: nothing stored"}
        try:
            parsed = parse_body(payload, "identity", False, self.max_bytes, self.max_rows)
        except (BodyError, BodyUnreadable, BodyTooLarge, TooManyRows) as exc:
            self.stats.refused += 1
            return {"error": f"{exc}: nothing stored"}
        out: IngestOutcome = store_parsed(self.store, parsed, set(allowed), "mqtt")
        self.stats.accepted += out.accepted
        self.stats.duplicates += out.duplicates
        self.stats.rejected += len(out.rejected)
        return {
            "submitted": out.submitted,
            "accepted": out.accepted,
            "duplicates": out.duplicates,
            "rejected": [{"row": r.row, "reason": r.reason, "detail": r.detail} for r in out.rejected],
        }

    async def run(self) -> None:
        """Connect, subscribe and serve until cancelled; reconnects after a lost broker."""
        while True:
            try:
                await self._session()
            except aiomqtt.MqttError as exc:
                self.ready.clear()
                log.warning("MQTT broker %s:%s: %s; reconnecting in 1 s", self.host, self.port, exc)
                await asyncio.sleep(1.0)

    async def _session(self) -> None:
        async with aiomqtt.Client(
            self.host,
            self.port,
            username=self.username,
            password=self.password,
            identifier=self.client_id,
            clean_session=False,
        ) as client:
            await client.subscribe(self.topic("+", "telemetry"), qos=1)
            self.ready.set()
            async for message in client.messages:
                await self._on_message(client, message)

    async def _on_message(self, client: aiomqtt.Client, message: aiomqtt.Message) -> None:
        parts = message.topic.value.split("/")
        gateway_id = parts[-2]
        payload = message.payload if isinstance(message.payload, bytes) else str(message.payload).encode()
        self.stats.messages += 1
        self.stats.by_gateway[gateway_id] = self.stats.by_gateway.get(gateway_id, 0) + 1
        try:
            reply = await asyncio.to_thread(self.handle, gateway_id, payload)
        except StoreUnavailable:
            self.stats.store_errors += 1
            log.warning("store unavailable: message of %s not stored, no reply (the gateway re-sends)", gateway_id)
            return
        batch = _batch_field(payload)
        if batch is not None:
            reply["batch"] = batch
        correlation = getattr(message.properties, "CorrelationData", None) if message.properties else None
        props = None
        if correlation is not None:
            from paho.mqtt.packettypes import PacketTypes
            from paho.mqtt.properties import Properties

            props = Properties(PacketTypes.PUBLISH)
            props.CorrelationData = correlation
        await client.publish(self.topic(gateway_id, "reply"), orjson.dumps(reply), qos=1, properties=props)


def _batch_field(payload: bytes) -> object:
    """The optional ``"batch"`` field of a JSON message (a gateway's own id for it), echoed in the reply."""
    if b'"batch"' not in payload:  # skip a second parse of the usual message
        return None
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    return doc.get("batch") if isinstance(doc, dict) else None
