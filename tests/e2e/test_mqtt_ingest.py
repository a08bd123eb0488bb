"""MQTT gateway ingestion end to end through a real Mosquitto broker (issue 18).

Two gateways publish with QoS 1 as a real gateway would (aiomqtt, their own broker users):
duplicates, a body that is not JSON, rows that fail validation, a device the gateway may not
write, and a publish on another gateway's topic (the broker's ACL drops it). Every expected
value below is typed by hand from the messages; values are read back from the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Iterator

import aiomqtt
import orjson
import pytest

from device_drivers.simulator.park import free_port
from ems.store import Store
from ems.store.keys import create_key
from entrypoints.operate.mosquitto import Mosquitto
from entrypoints.operate.mqtt_bridge import MqttBridge

T0 = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
T1 = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
USERS = {"ems-bridge": "bridge-secret", "gw-tiny": "tiny-secret", "gw-pv": "pv-secret"}


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    with Mosquitto(tmp_path_factory.mktemp("mosquitto"), USERS, free_port()) as b:
        yield b


@contextlib.asynccontextmanager
async def _bridge(store: Store, port: int) -> AsyncIterator[MqttBridge]:
    bridge = MqttBridge(store, "127.0.0.1", port, username="ems-bridge", password=USERS["ems-bridge"], key_ttl_s=0.0)
    task = asyncio.create_task(bridge.run())
    await asyncio.wait_for(bridge.ready.wait(), 5)
    try:
        yield bridge
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _replies(client: aiomqtt.Client, n: int) -> list[dict[str, object]]:
    out = []
    async with asyncio.timeout(10):
        async for m in client.messages:
            out.append(orjson.loads(m.payload))  # type: ignore[arg-type]
            if len(out) == n:
                return out
    return out


def _reading(t: str, device: str, quantity: str, value: object) -> dict[str, object]:
    return {"time": t, "device": device, "quantity": quantity, "value": value}


async def test_gateways_publish_duplicates_and_malformed_messages(store: Store, broker: Mosquitto) -> None:
    create_key(store, "tiny gateway", "gateway", gateway_id="gw-tiny")  # binds every tiny-park device
    create_key(store, "pv gateway", "gateway", gateway_id="gw-pv", devices=["PV1"])  # PV1 only
    good = {
        "batch": "b1",
        "readings": [
            _reading("2026-06-01T10:00:00Z", "PV1", "p_kw", 120.5),
            _reading("2026-06-01T10:00:00+08:00", "LOAD1", "p_kw", -310.0),
        ],
    }
    mixed = {
        "batch": "b2",
        "readings": [
            _reading("2026-06-01T10:01:00Z", "PV1", "p_kw", 121.0),
            _reading("2026-06-01T10:01:00", "PV1", "p_kw", 1.0),  # naive time: malformed
            _reading("2026-06-01T10:01:00Z", "PV1", "power", 1.0),  # unknown quantity
            _reading("2026-06-01T10:01:00Z", "NOPE", "p_kw", 1.0),  # unknown device
        ],
    }
    async with (
        _bridge(store, broker.port) as bridge,
        aiomqtt.Client("127.0.0.1", broker.port, username="gw-tiny", password=USERS["gw-tiny"]) as tiny,
        aiomqtt.Client("127.0.0.1", broker.port, username="gw-pv", password=USERS["gw-pv"]) as pv,
    ):
        await tiny.subscribe("ems/gateways/gw-tiny/reply", qos=1)
        await pv.subscribe("ems/gateways/gw-pv/reply", qos=1)
        for body in (good, good, b"{not json", mixed):  # at-least-once: the first message twice
            payload = body if isinstance(body, bytes) else orjson.dumps(body)
            await tiny.publish("ems/gateways/gw-tiny/telemetry", payload, qos=1)
        tiny_replies = await _replies(tiny, 4)
        # gw-pv may write PV1 only; its publish on gw-tiny's topic is dropped by the broker's ACL
        spoof = {"readings": [_reading("2026-06-01T11:00:00Z", "LOAD1", "p_kw", -1.0)]}
        await pv.publish("ems/gateways/gw-tiny/telemetry", orjson.dumps(spoof), qos=1)
        own = {"readings": [_reading("2026-06-01T11:00:00Z", "PV1", "p_kw", 99.0), spoof["readings"][0]]}
        await pv.publish("ems/gateways/gw-pv/telemetry", orjson.dumps(own), qos=1)
        (pv_reply,) = await _replies(pv, 1)
    first, repeat, unreadable, partial = tiny_replies
    assert first == {"submitted": 2, "accepted": 2, "duplicates": 0, "rejected": [], "batch": "b1"}
    assert repeat == {"submitted": 2, "accepted": 0, "duplicates": 2, "rejected": [], "batch": "b1"}
    assert set(unreadable) == {"error"} and "not valid JSON" in str(unreadable["error"])
    assert partial["accepted"] == 1 and partial["batch"] == "b2"
    assert [(r["row"], r["reason"]) for r in partial["rejected"]] == [  # type: ignore[union-attr]
        (1, "malformed"),
        (2, "unknown_quantity"),
        (3, "unknown_device"),
    ]
    assert pv_reply["accepted"] == 1
    assert [(r["row"], r["reason"]) for r in pv_reply["rejected"]] == [(1, "forbidden_device")]  # type: ignore[index]
    # read back: each reading once, nothing from the spoofed or rejected rows
    assert store.raw("PV1", "p_kw", T0, T1)[1].tolist() == [120.5, 121.0, 99.0]
    t, v = store.raw("LOAD1", "p_kw", T0, T1)
    assert v.tolist() == [-310.0]
    assert t.tolist() == [int(dt.datetime(2026, 6, 1, 2, 0, tzinfo=dt.UTC).timestamp() * 1_000_000)]
    assert bridge.stats.messages == 5 and bridge.stats.duplicates == 2 and bridge.stats.refused == 1
