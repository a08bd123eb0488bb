"""Queue messages in the store and deliver the due ones, one transaction per message."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from ems.outbox.channels import DeliveryError, ReceiverNotConfigured, Sender
from ems.store import Store
from ems.store import outbox_queries as OQ

log = logging.getLogger(__name__)

RETRY_BASE_S = 30.0
RETRY_CAP_S = 3600.0  # a receiver down for a day is tried hourly, never given up on
RECEIVER = "default"  # one receiver per channel today; the column leaves room for more


def retry_delay_s(attempts: int) -> float:
    """Backoff after the ``attempts``-th failure: 30 s, 60 s, 120 s ... capped at one hour."""
    return float(min(RETRY_BASE_S * 2 ** max(attempts - 1, 0), RETRY_CAP_S))


def enqueue(store: Store, channel: str, dedup_key: str, body: str) -> int | None:
    """Queue ``body`` for ``channel``; None if the same (channel, key) was queued before (sent once)."""
    with store.connection() as conn, conn.transaction():
        return OQ.enqueue(conn, channel, RECEIVER, dedup_key, body)


@dataclass
class DeliveryReport:
    delivered: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)  # message id -> error (no secrets)
    pending: int = 0  # still undelivered after this pass (due later or just failed)


def deliver_due(
    store: Store, senders: Mapping[str, Sender], now: dt.datetime | None = None, limit: int = 100
) -> DeliveryReport:
    """Send up to ``limit`` due messages, oldest first; a failure is rescheduled, never dropped.

    Each message is claimed, sent and recorded in its own transaction (row lock held while sending),
    so concurrent workers skip each other's messages and one receiver's outage does not hold up the
    others.
    """
    now = now or dt.datetime.now(dt.UTC)
    report = DeliveryReport()
    for _ in range(limit):
        with store.connection() as conn, conn.transaction():
            # a failed message is rescheduled past ``now``, so each pass claims the next one
            due = OQ.claim_due(conn, now, 1)
            if not due:
                break
            msg = due[0]
            send = senders.get(msg.channel)
            try:
                if send is None:
                    raise ReceiverNotConfigured(f"no receiver configured for channel {msg.channel!r}")
                send(msg.dedup_key, msg.body)
            except DeliveryError as exc:
                retry_at = now + dt.timedelta(seconds=retry_delay_s(msg.attempts + 1))
                OQ.mark_failed(conn, msg.message_id, str(exc), retry_at)
                report.failed[msg.message_id] = str(exc)
                log.warning(
                    "outbox %s #%d not delivered (attempt %d): %s", msg.channel, msg.message_id, msg.attempts + 1, exc
                )
            else:
                OQ.mark_delivered(conn, msg.message_id, dt.datetime.now(dt.UTC))
                report.delivered.append(msg.message_id)
    with store.connection() as conn:
        report.pending = OQ.depth(conn)
    return report
