"""Who is calling: the verified key (:class:`Principal`) and a short-lived cache of verified keys."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from ems.store.keys import ApiKey


@dataclass(frozen=True)
class Principal:
    key: ApiKey
    devices: frozenset[str]  # writable devices (gateway keys)

    @property
    def role(self) -> str:
        return self.key.role


class KeyCache:
    """Verified keys for a few seconds, so a busy gateway costs no database round trip per request.

    Keyed by the token's SHA-256 (the token itself is never kept). A revocation through this
    API drops the entry at once; one made elsewhere (CLI) takes effect within ``ttl_s``.
    """

    def __init__(self, ttl_s: float = 5.0) -> None:
        self.ttl_s = ttl_s
        self._items: dict[bytes, tuple[float, Principal]] = {}

    @staticmethod
    def _k(token: str) -> bytes:
        return hashlib.sha256(token.encode()).digest()

    def get(self, token: str) -> Principal | None:
        hit = self._items.get(self._k(token))
        if hit is None or time.monotonic() - hit[0] > self.ttl_s:
            return None
        return hit[1]

    def put(self, token: str, principal: Principal) -> None:
        if len(self._items) > 10_000:
            self._items.clear()
        self._items[self._k(token)] = (time.monotonic(), principal)

    def drop_key(self, key_id: str) -> None:
        for k, (_, p) in list(self._items.items()):
            if p.key.key_id == key_id:
                self._items.pop(k, None)
