"""Request size limits (also after decompression) and per-key rate limiting."""

from __future__ import annotations

import threading
import time
import zlib

from fastapi import HTTPException, Request


class RateLimiter:
    """Token bucket per API key: ``rate_per_s`` sustained, ``burst`` at once."""

    def __init__(self, rate_per_s: float, burst: int) -> None:
        self.rate, self.burst = rate_per_s, burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, key_id: str) -> None:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key_id, (float(self.burst), now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1:
                self._buckets[key_id] = (tokens, now)
                wait = (1 - tokens) / self.rate
                raise HTTPException(429, "rate limit exceeded", headers={"Retry-After": f"{max(1, round(wait))}"})
            self._buckets[key_id] = (tokens - 1, now)


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The request body, decompressed (gzip/deflate), refusing more than ``max_bytes`` either way."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise HTTPException(413, f"body larger than {max_bytes} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise HTTPException(413, f"body larger than {max_bytes} bytes")
        chunks.append(chunk)
    body = b"".join(chunks)
    encoding = request.headers.get("content-encoding", "identity").lower().strip()
    if encoding in ("identity", ""):
        return body
    if encoding not in ("gzip", "deflate"):
        raise HTTPException(415, f"content-encoding {encoding!r} not supported (use gzip or deflate)")
    wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
    d = zlib.decompressobj(wbits)
    try:
        out = d.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise HTTPException(400, f"body is not valid {encoding}: {exc}") from None
    if len(out) > max_bytes or d.unconsumed_tail:
        raise HTTPException(413, f"decompressed body larger than {max_bytes} bytes")
    return out
