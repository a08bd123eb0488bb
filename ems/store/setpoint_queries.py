"""SQL for the gateway setpoint queue (``gateway_setpoint``, migration 0006).

Rows are returned as :class:`QueuedSetpoint`. Every function takes an open psycopg connection.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import psycopg

_COLUMNS = (
    "setpoint_id, device_id, gateway_id, quantity, requested, value, created_at, created_by, valid_until, "
    "status, acked_at, applied_value, detail"
)


@dataclass(frozen=True)
class QueuedSetpoint:
    setpoint_id: int
    device_id: str
    gateway_id: str
    quantity: str
    requested: float
    value: float
    created_at: dt.datetime
    created_by: str
    valid_until: dt.datetime
    status: str
    acked_at: dt.datetime | None
    applied_value: float | None
    detail: str


def queue(
    conn: psycopg.Connection,
    device_id: str,
    gateway_id: str,
    quantity: str,
    requested: float,
    value: float,
    created_by: str,
    valid_until: dt.datetime,
) -> QueuedSetpoint:
    """Queue a setpoint; a pending one for the same device and quantity becomes ``superseded``."""
    with conn.transaction():
        conn.execute(
            "UPDATE gateway_setpoint SET status = 'superseded', detail = 'replaced by a newer setpoint' "
            "WHERE device_id = %s AND quantity = %s AND status = 'pending'",
            (device_id, quantity),
        )
        row = conn.execute(
            "INSERT INTO gateway_setpoint (device_id, gateway_id, quantity, requested, value, created_by, valid_until) "
            f"VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING {_COLUMNS}",
            (device_id, gateway_id, quantity, requested, value, created_by, valid_until),
        ).fetchone()
    assert row is not None
    return QueuedSetpoint(*row)


def pending(conn: psycopg.Connection, devices: Iterable[str], now: dt.datetime) -> list[QueuedSetpoint]:
    """Pending, still valid setpoints of ``devices``, oldest first."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM gateway_setpoint WHERE status = 'pending' AND device_id = ANY(%s) "
        "AND valid_until > %s ORDER BY setpoint_id",
        (list(devices), now),
    ).fetchall()
    return [QueuedSetpoint(*r) for r in rows]


def get(conn: psycopg.Connection, setpoint_id: int) -> QueuedSetpoint | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM gateway_setpoint WHERE setpoint_id = %s", (setpoint_id,)).fetchone()
    return QueuedSetpoint(*row) if row else None


def acknowledge(
    conn: psycopg.Connection, setpoint_id: int, status: str, applied_value: float | None, detail: str
) -> QueuedSetpoint | None:
    """Record the gateway's answer to a pending setpoint; None if it is no longer pending."""
    row = conn.execute(
        "UPDATE gateway_setpoint SET status = %s, applied_value = %s, detail = %s, acked_at = now() "
        f"WHERE setpoint_id = %s AND status = 'pending' RETURNING {_COLUMNS}",
        (status, applied_value, detail, setpoint_id),
    ).fetchone()
    return QueuedSetpoint(*row) if row else None


def history(conn: psycopg.Connection, device_id: str | None, limit: int) -> list[QueuedSetpoint]:
    """Most recent setpoints first (all devices, or one)."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM gateway_setpoint WHERE %s::text IS NULL OR device_id = %s "
        "ORDER BY setpoint_id DESC LIMIT %s",
        (device_id, device_id, limit),
    ).fetchall()
    return [QueuedSetpoint(*r) for r in rows]
