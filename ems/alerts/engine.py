"""Keep the alert table in step with the findings and queue each new alert to the receivers.

One transaction per evaluation: new findings are raised (and queued to every configured alert
channel in the same transaction, so an alert is never recorded without its notifications),
persisting ones refreshed, vanished ones cleared. Acknowledgement is :func:`acknowledge`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from ems.alerts.rules import Finding
from ems.outbox.channels import ALERT_CHANNELS, mail_body
from ems.outbox.delivery import RECEIVER
from ems.outbox.robots import text_body
from ems.store import Store
from ems.store import alert_queries as AQ
from ems.store import outbox_queries as OQ
from ems.store.alert_queries import AlertRow

_SEVERITY_ZH = {"info": "提示", "warning": "警告", "critical": "严重"}


@dataclass
class Reconciled:
    raised: list[int] = field(default_factory=list)
    refreshed: list[int] = field(default_factory=list)
    cleared: list[int] = field(default_factory=list)


def notification_text(park_name: str, alert_id: int, f: Finding, raised_at: dt.datetime, zone: dt.tzinfo) -> str:
    """The text every channel carries (Chinese label first: the robots post to operators' group chats)."""
    local = raised_at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
    return f"[{_SEVERITY_ZH[f.severity]} {f.severity}] {park_name} #{alert_id} {f.rule}\n{f.message}\n{local}"


def reconcile(store: Store, findings: Sequence[Finding], now: dt.datetime, channels: Sequence[str] = ()) -> Reconciled:
    """Apply ``findings`` (the complete set at ``now``) and queue new alerts to ``channels``."""
    bad = [c for c in channels if c not in ALERT_CHANNELS]
    if bad:
        raise ValueError(f"not alert channels: {bad}; valid: {', '.join(ALERT_CHANNELS)}")
    park = store.park
    out = Reconciled()
    with store.connection() as conn, conn.transaction():
        open_by_key = {(a.rule, a.subject): a for a in AQ.open_alerts(conn)}
        seen = set()
        for f in findings:
            key = (f.rule, f.subject)
            if key in seen:
                continue  # one alert per key even if a rule reported the subject twice
            seen.add(key)
            existing = open_by_key.get(key)
            if existing is not None:
                AQ.touch(conn, existing.alert_id, now, f.message, f.details)
                out.refreshed.append(existing.alert_id)
                continue
            alert_id = AQ.raise_alert(conn, f.rule, f.subject, f.severity, f.message, f.details, now)
            out.raised.append(alert_id)
            text = notification_text(park.name, alert_id, f, now, park.tz)
            for ch in channels:
                body = (
                    mail_body(f"[EMS {f.severity}] {park.name}: {f.rule} {f.subject}", text)
                    if ch == "email"
                    else text_body(text)
                )
                OQ.enqueue(conn, ch, RECEIVER, f"alert:{alert_id}", body)
        for key, a in open_by_key.items():
            if key not in seen:
                AQ.clear(conn, a.alert_id, now)
                out.cleared.append(a.alert_id)
    return out


def acknowledge(store: Store, alert_id: int, actor: str, note: str, now: dt.datetime | None = None) -> AlertRow | None:
    """Acknowledge an alert (logged with the actor); None if there is no such alert."""
    with store.connection() as conn, conn.transaction():
        return AQ.acknowledge(conn, alert_id, actor, note, now or dt.datetime.now(dt.UTC))


def alerts(
    store: Store, *, open_only: bool = False, since: dt.datetime | None = None, limit: int = 200
) -> list[AlertRow]:
    with store.connection() as conn:
        return AQ.listing(conn, open_only=open_only, since=since, limit=limit)
