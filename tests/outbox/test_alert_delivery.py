"""Alerts delivered to WeCom/DingTalk robots (a real HTTP receiver) and e-mail (a real SMTP server),
through the durable outbox across a receiver outage (issue 21: "an alert delivered to a local
webhook receiver")."""

from __future__ import annotations

import datetime as dt
import json
import socket
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from ems.alerts.engine import reconcile
from ems.alerts.rules import Finding
from ems.outbox import Receivers, deliver_due, senders
from ems.outbox.robots import dingtalk_sign
from ems.store import Store
from ems.store import outbox_queries as OQ
from tests.outbox.receiver import Receiver

T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)  # 09:00 park time (Asia/Shanghai, CST)
SILENT = Finding(
    "gateway_silent", "gw-tiny", "critical", "gateway gw-tiny: last push 2026-03-01T08:00:00+00:00 (17.0 h ago)"
)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rx = Receiver()  # created down: nothing listens on its port yet
    yield rx
    rx.stop()


def test_wecom_alert_survives_receiver_outage_and_arrives_exactly(store: Store, receiver: Receiver) -> None:
    rc = Receivers(wecom_url=receiver.url("/cgi-bin/webhook/send?key=KEY-123"))
    done = reconcile(store, [SILENT], T0, rc.configured())
    assert done.raised == [1]

    down = deliver_due(store, senders(rc), now=T0)
    assert down.delivered == [] and down.pending == 1
    [error] = down.failed.values()
    assert "Connect" in error and "KEY-123" not in error  # the robot key never reaches a log

    receiver.start()
    assert deliver_due(store, senders(rc), now=T0 + dt.timedelta(seconds=10)).delivered == []  # 30 s backoff
    up = deliver_due(store, senders(rc), now=T0 + dt.timedelta(seconds=31))
    assert len(up.delivered) == 1 and up.pending == 0
    assert deliver_due(store, senders(rc), now=T0 + dt.timedelta(hours=2)).delivered == []  # sent once

    [got] = receiver.received
    assert got.path == "/cgi-bin/webhook/send?key=KEY-123"
    assert got.headers["content-type"] == "application/json; charset=utf-8"
    # WeCom's documented text message, written out by hand (UTF-8, compact)
    expected = (
        '{"msgtype":"text","text":{"content":"[严重 critical] Tiny test park #1 gateway_silent\\n'
        'gateway gw-tiny: last push 2026-03-01T08:00:00+00:00 (17.0 h ago)\\n2026-03-02 09:00 CST"}}'
    )
    assert got.body == expected.encode("utf-8")
    with store.connection() as conn:
        [msg] = OQ.messages(conn)
    assert msg.attempts == 2 and msg.delivered_at is not None and msg.last_error is None

    # the condition persists: the same alert, no second message; it clears when the finding goes
    again = reconcile(store, [SILENT], T0 + dt.timedelta(minutes=5), rc.configured())
    assert again.raised == [] and again.refreshed == [1]
    assert reconcile(store, [], T0 + dt.timedelta(minutes=10), rc.configured()).cleared == [1]
    with store.connection() as conn:
        assert len(OQ.messages(conn)) == 1


def test_dingtalk_signature_matches_a_hand_computed_one() -> None:
    """DingTalk's documented sign = urlencode(base64(HmacSHA256(secret, ts + "\\n" + secret))), by openssl
    (S = SECtestsecret0123456789): printf '%s\\n%s' 1700000000000 $S | openssl dgst -sha256 -hmac $S -binary
    | base64 → zrLWzK97t62y5CpqN8Ok9UIdPvX+jL1PNoW8nKT5a9k=  (then + → %2B, = → %3D)."""
    assert dingtalk_sign(1700000000000, "SECtestsecret0123456789") == "zrLWzK97t62y5CpqN8Ok9UIdPvX%2BjL1PNoW8nKT5a9k%3D"


def test_dingtalk_signed_delivery_and_refusal_is_retried(store: Store, receiver: Receiver) -> None:
    secret = "SECtestsecret0123456789"
    rc = Receivers(dingtalk_url=receiver.url("/robot/send?access_token=TOK"), dingtalk_secret=secret)
    reconcile(store, [SILENT], T0, rc.configured())
    receiver.start()
    receiver.answer = {"errcode": 130101, "errmsg": "send too fast"}  # DingTalk's rate-limit answer (HTTP 200)
    refused = deliver_due(store, senders(rc), now=T0)
    assert refused.pending == 1 and "130101" in next(iter(refused.failed.values()))
    receiver.answer = {"errcode": 0, "errmsg": "ok"}
    assert len(deliver_due(store, senders(rc), now=T0 + dt.timedelta(minutes=1)).delivered) == 1

    last = receiver.received[-1]
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(last.path).query))
    assert query["access_token"] == "TOK"
    ts = int(query["timestamp"])
    assert abs(ts / 1000 - dt.datetime.now(dt.UTC).timestamp()) < 600  # DingTalk allows one hour
    # the raw query carries the sign URL-encoded exactly once
    assert f"&sign={dingtalk_sign(ts, secret)}" in last.path
    assert json.loads(last.body)["msgtype"] == "text"
    assert receiver.received[0].body == last.body  # the retry sends the same message


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


def test_alert_by_email_through_a_real_smtp_server(store: Store) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    rc = Receivers(smtp_host="127.0.0.1", smtp_port=port, smtp_from="ems@park.example", smtp_to=["ops@park.example"])
    reconcile(store, [SILENT], T0, rc.configured())
    assert deliver_due(store, senders(rc), now=T0).pending == 1  # no SMTP server yet

    inbox = _Inbox()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        assert len(deliver_due(store, senders(rc), now=T0 + dt.timedelta(minutes=1)).delivered) == 1
    finally:
        ctl.stop()
    [env] = inbox.messages
    assert env.mail_from == "ems@park.example" and env.rcpt_tos == ["ops@park.example"]
    text = env.content.decode("utf-8")
    assert "Subject: [EMS critical] Tiny test park: gateway_silent gw-tiny" in text


def test_message_for_an_unconfigured_channel_is_kept(store: Store) -> None:
    reconcile(store, [SILENT], T0, ["wecom"])
    report = deliver_due(store, {}, now=T0)
    assert report.pending == 1 and "no receiver configured" in next(iter(report.failed.values()))


def test_plain_http_receiver_refused_outside_loopback() -> None:
    with pytest.raises(ValueError, match="https"):
        Receivers(city_url="http://platform.example.gov.cn/push")
