"""Request size limits (also after decompression), rate limiting per key and failed-authentication throttling."""

from __future__ import annotations

import math
import threading
import time
import zlib

import anyio
from fastapi import HTTPException, Request

from api.guard import body_timeout_detail
from ems.i18n import Msg


class RateLimiter:
    """Token bucket per key (an API key id, a client address): ``rate_per_s`` sustained, ``burst`` at once."""

    def __init__(self, rate_per_s: float, burst: int) -> None:
        self.rate, self.burst = rate_per_s, burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def _tokens(self, key: str, now: float) -> float:
        tokens, last = self._buckets.get(key, (float(self.burst), now))
        return min(self.burst, tokens + (now - last) * self.rate)

    def check(self, key: str) -> None:
        """Spend a token, or refuse with 429 and the wait in ``Retry-After``."""
        now = time.monotonic()
        with self._lock:
            tokens = self._tokens(key, now)
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                raise HTTPException(429, Msg("rate limit exceeded"), headers={"Retry-After": self._retry_after(tokens)})
            self._buckets[key] = (tokens - 1, now)

    def refused(self, key: str, detail: str) -> HTTPException | None:
        """The 429 to answer if ``key`` has no token left (spends nothing), else None."""
        with self._lock:
            tokens = self._tokens(key, time.monotonic())
        if tokens >= 1:
            return None
        return HTTPException(429, detail, headers={"Retry-After": self._retry_after(tokens)})

    def spend(self, key: str) -> None:
        """Take a token if one is left (counting an event such as a failed authentication)."""
        now = time.monotonic()
        with self._lock:
            if len(self._buckets) > 100_000:  # bounded memory under a spray of addresses
                self._buckets.clear()
            self._buckets[key] = (max(0.0, self._tokens(key, now) - 1), now)

    def _retry_after(self, tokens: float) -> str:
        return f"{max(1, math.ceil((1 - tokens) / self.rate))}"


class BodyTooLarge(ValueError):
    """Refused with 413: more bytes (or, decompressed, more lines) than allowed."""


class BodyUnreadable(ValueError):
    """Refused with 400: the encoding is broken (truncated or corrupt compressed data)."""


async def read_body(request: Request, max_bytes: int, timeout_s: float) -> bytes:
    """The request body as sent (still compressed), refusing more than ``max_bytes`` (413) or a body
    that has not arrived whole within ``timeout_s`` (408, as :class:`api.guard.Guard` does)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise HTTPException(413, Msg("body larger than {limit} bytes", limit=max_bytes))
    chunks, size = [], 0
    try:
        with anyio.fail_after(timeout_s):
            async for chunk in request.stream():
                size += len(chunk)
                if size > max_bytes:
                    raise HTTPException(413, Msg("body larger than {limit} bytes", limit=max_bytes))
                chunks.append(chunk)
    except TimeoutError:
        raise HTTPException(408, body_timeout_detail(timeout_s), headers={"Connection": "close"}) from None
    return b"".join(chunks)


def decompress(body: bytes, encoding: str, max_bytes: int, max_lines: int | None = None) -> bytes:
    """Inflate a gzip/deflate body (CPU work: call it off the event loop).

    Output is produced in bounded steps, so a bomb is refused (:class:`BodyTooLarge`) once it passes
    ``max_bytes`` (or ``max_lines`` newlines, for CSV) without being inflated whole. Every gzip member
    is read (RFC 1952 allows several, ``cat a.gz b.gz``); a stream that ends before its end marker
    and checksum, corrupt data or bytes after a deflate stream are :class:`BodyUnreadable`.
    """
    if encoding in ("identity", ""):
        return body
    wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
    out, lines, data = bytearray(), 0, body
    while data:
        d = zlib.decompressobj(wbits)
        while not d.eof:
            try:
                chunk = d.decompress(data, min(1 << 20, max_bytes + 1 - len(out)))
            except zlib.error as exc:
                raise BodyUnreadable(f"body is not valid {encoding}: {exc}") from None
            out += chunk
            if len(out) > max_bytes:
                raise BodyTooLarge(f"decompressed body larger than {max_bytes} bytes")
            lines += chunk.count(b"\n")
            if max_lines is not None and lines > max_lines:
                raise BodyTooLarge(f"decompressed body has more than {max_lines} lines")
            if not chunk and not d.unconsumed_tail:
                break  # input used up and no pending output: the stream ended early
            data = d.unconsumed_tail
        if not d.eof:
            raise BodyUnreadable(f"{encoding} body is truncated (it ends before the end of its compressed stream)")
        data = d.unused_data
        if data and encoding != "gzip":
            raise BodyUnreadable(f"{len(data)} bytes after the end of the {encoding} stream")
    return bytes(out)
