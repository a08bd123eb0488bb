"""SQL for alerts and their log (migration 0009). Every function takes an open psycopg connection."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb


@dataclass(frozen=True)
class AlertRow:
    alert_id: int
    rule: str
    subject: str
    severity: str
    message: str
    details: dict[str, Any]
    raised_at: dt.datetime
    last_seen_at: dt.datetime
    cleared_at: dt.datetime | None
    acked_at: dt.datetime | None
    acked_by: str | None
    ack_note: str | None


@dataclass(frozen=True)
class AlertEventRow:
    event_id: int
    alert_id: int
    event: str
    actor: str
    note: str
    at: dt.datetime


_COLUMNS = (
    "alert_id, rule, subject, severity, message, details, raised_at, last_seen_at, cleared_at, "
    "acked_at, acked_by, ack_note"
)


def open_alerts(conn: psycopg.Connection) -> list[AlertRow]:
    rows = conn.execute(f"SELECT {_COLUMNS} FROM alert WHERE cleared_at IS NULL ORDER BY alert_id").fetchall()
    return [AlertRow(*r) for r in rows]


def raise_alert(
    conn: psycopg.Connection,
    rule: str,
    subject: str,
    severity: str,
    message: str,
    details: dict[str, Any],
    at: dt.datetime,
) -> int:
    """Insert a new open alert and its 'raised' log entry; returns its id."""
    row = conn.execute(
        "INSERT INTO alert (rule, subject, severity, message, details, raised_at, last_seen_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING alert_id",
        (rule, subject, severity, message, Jsonb(details), at, at),
    ).fetchone()
    assert row is not None
    alert_id = int(row[0])
    log_event(conn, alert_id, "raised", "engine", message, at)
    return alert_id


def touch(conn: psycopg.Connection, alert_id: int, at: dt.datetime, message: str, details: dict[str, Any]) -> None:
    """The condition still holds: refresh the alert's latest figures."""
    conn.execute(
        "UPDATE alert SET last_seen_at = %s, message = %s, details = %s WHERE alert_id = %s",
        (at, message, Jsonb(details), alert_id),
    )


def clear(conn: psycopg.Connection, alert_id: int, at: dt.datetime) -> None:
    conn.execute("UPDATE alert SET cleared_at = %s WHERE alert_id = %s AND cleared_at IS NULL", (at, alert_id))
    log_event(conn, alert_id, "cleared", "engine", "", at)


def acknowledge(conn: psycopg.Connection, alert_id: int, actor: str, note: str, at: dt.datetime) -> AlertRow | None:
    """Mark acknowledged (the first acknowledgement counts; later ones are logged only)."""
    found = conn.execute(f"SELECT {_COLUMNS} FROM alert WHERE alert_id = %s FOR UPDATE", (alert_id,)).fetchone()
    if found is None:
        return None
    conn.execute(
        "UPDATE alert SET acked_at = %s, acked_by = %s, ack_note = %s WHERE alert_id = %s AND acked_at IS NULL",
        (at, actor, note, alert_id),
    )
    log_event(conn, alert_id, "acknowledged", actor, note, at)
    return get(conn, alert_id)


def get(conn: psycopg.Connection, alert_id: int) -> AlertRow | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM alert WHERE alert_id = %s", (alert_id,)).fetchone()
    return None if row is None else AlertRow(*row)


def listing(
    conn: psycopg.Connection, *, open_only: bool, since: dt.datetime | None = None, limit: int = 200
) -> list[AlertRow]:
    """Alerts newest first; ``open_only`` keeps the uncleared ones."""
    where, params = [], []
    if open_only:
        where.append("cleared_at IS NULL")
    if since is not None:
        where.append("raised_at >= %s")
        params.append(since)
    sql = f"SELECT {_COLUMNS} FROM alert" + (" WHERE " + " AND ".join(where) if where else "")
    rows = conn.execute(sql + " ORDER BY raised_at DESC, alert_id DESC LIMIT %s", [*params, limit]).fetchall()
    return [AlertRow(*r) for r in rows]


def log_event(conn: psycopg.Connection, alert_id: int, event: str, actor: str, note: str, at: dt.datetime) -> None:
    conn.execute(
        "INSERT INTO alert_event (alert_id, event, actor, note, at) VALUES (%s, %s, %s, %s, %s)",
        (alert_id, event, actor, note, at),
    )


def events(conn: psycopg.Connection, alert_id: int) -> list[AlertEventRow]:
    rows = conn.execute(
        "SELECT event_id, alert_id, event, actor, note, at FROM alert_event WHERE alert_id = %s ORDER BY event_id",
        (alert_id,),
    ).fetchall()
    return [AlertEventRow(*r) for r in rows]
