"""Request size limits (also after decompression) and per-key rate limiting."""

from __future__ import annotations

import threading
import time
import zlib

from fastapi import HTTPException, Request

from ems.i18n import Msg


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
                raise HTTPException(429, Msg("rate limit exceeded"), headers={"Retry-After": f"{max(1, round(wait))}"})
            self._buckets[key_id] = (tokens - 1, now)


class BodyTooLarge(ValueError):
    """Refused with 413: more bytes (or, decompressed, more lines) than allowed."""


class BodyUnreadable(ValueError):
    """Refused with 400: the encoding is broken (truncated or corrupt compressed data)."""


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The request body as sent (still compressed), refusing more than ``max_bytes``."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise HTTPException(413, Msg("body larger than {limit} bytes", limit=max_bytes))
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise HTTPException(413, Msg("body larger than {limit} bytes", limit=max_bytes))
        chunks.append(chunk)
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
