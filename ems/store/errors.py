"""The store's own small exception tree; psycopg errors are translated at the boundary."""

from __future__ import annotations


class StoreError(Exception):
    """Base of store errors."""


class StoreUnavailable(StoreError):
    """The database cannot be reached (down, restarting, network). Callers may spool and retry."""
