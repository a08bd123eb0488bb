"""One gate in front of every route: text that PostgreSQL cannot store, body limits, security headers.

* **Invalid text** (a NUL character, or bytes that are not UTF-8, in the path, the query string or a
  JSON body; a lone UTF-16 surrogate in JSON) is refused with 422 before any route runs: PostgreSQL
  text cannot hold it, and it would otherwise surface as a 500 wherever it reached a query. The
  answer has FastAPI's validation-error shape (``detail: [{loc, msg, type}]``), as any 422.
* **Body limit**: every body is counted while it arrives and refused with 413 past
  ``max_body_bytes`` (declared or not), or with 408 (and the connection closed) if it has not
  arrived whole within ``body_timeout_s``: a client trickling a body holds one connection for a
  bounded time (the event loop is never blocked by it). The telemetry route streams its own body (it may be
  compressed) and applies the same limit before and after decompression (:mod:`api.limits`).
* **Security headers** on every response (no sniffing, no framing, no referrer, a same-origin
  content policy for the dashboard, no caching of API answers).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote_to_bytes

import anyio
import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ems.i18n import N_, Msg, from_accept_language

STREAMED = frozenset({"/v1/telemetry"})
PARTS = {"path": N_("path"), "query": N_("query")}  # request parts named in messages
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (
        b"content-security-policy",
        b"default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
    ),
]
# a JSON \u0000 escape not itself escaped (an even number of backslashes before it)
_JSON_NUL = re.compile(rb"(?:^|[^\\])(?:\\\\)*\\u0000")


class BodyRefused(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


def text_problem(raw: bytes, where: str) -> str | None:
    """Why ``raw`` (percent-decoded) is not storable text, or None."""
    if b"\x00" in raw:
        return Msg("{where} contains a NUL character", where=Msg(PARTS.get(where, where)))
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return Msg("{where} is not UTF-8 text", where=Msg(PARTS.get(where, where)))
    return None


def json_problem(body: bytes) -> str | None:
    """Why a JSON body cannot be stored as text (NUL escapes, lone surrogates, raw NULs), or None.

    A body that is not JSON at all is left to the route (which answers 422 naming the syntax error).
    """
    if _JSON_NUL.search(body) or b"\x00" in body:
        return Msg("JSON body contains a NUL character")
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if "surrogate" in str(exc) or "UTF-8" in str(exc):
            return Msg("JSON body is not valid text: {error}", error=str(exc))
    return None


class Guard:
    """ASGI middleware (module docstring)."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, body_timeout_s: float, default_language: str = "en") -> None:
        self.app, self.max_body_bytes = app, max_body_bytes
        self.body_timeout_s, self.default_language = body_timeout_s, default_language

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += SECURITY_HEADERS
                if scope["path"].startswith("/v1/"):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        for where, raw in (("path", scope.get("raw_path") or b""), ("query", scope.get("query_string", b""))):
            problem = text_problem(unquote_to_bytes(raw.replace(b"+", b" ")), where)
            if problem:
                await _answer(send_with_headers, 422, _invalid(where, problem, self._lang(scope)))
                return
        if scope["path"] in STREAMED or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send_with_headers)
            return
        try:
            body = await self._read(scope, receive)
        except BodyRefused as exc:
            await _answer(
                send_with_headers, exc.status, _render(exc.detail, self._lang(scope)), close=exc.status == 408
            )
            return
        ctype = dict(scope["headers"]).get(b"content-type", b"").split(b";")[0].strip().lower()
        if body and ctype in (b"application/json", b""):
            problem = await anyio.to_thread.run_sync(json_problem, body)
            if problem:
                await _answer(send_with_headers, 422, _invalid("body", problem, self._lang(scope)))
                return
        await self.app(scope, _replay(body, receive), send_with_headers)

    def _lang(self, scope: Scope) -> str:
        accept = dict(scope["headers"]).get(b"accept-language", b"").decode("latin-1")
        return from_accept_language(accept) or self.default_language

    async def _read(self, scope: Scope, receive: Receive) -> bytes:
        limit = self.max_body_bytes
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            raise BodyRefused(413, Msg("body larger than {limit} bytes", limit=limit))
        chunks, size, more = [], 0, True
        try:
            with anyio.fail_after(self.body_timeout_s):
                while more:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        raise BodyRefused(400, Msg("client disconnected before the body was complete"))
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > limit:
                        raise BodyRefused(413, Msg("body larger than {limit} bytes", limit=limit))
                    chunks.append(chunk)
                    more = message.get("more_body", False)
        except TimeoutError:
            raise BodyRefused(408, body_timeout_detail(self.body_timeout_s)) from None
        return b"".join(chunks)


def body_timeout_detail(seconds: float) -> str:
    return f"request body not received whole within {seconds:g} s"


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()  # disconnect notifications after the body
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _render(msg: str, lang: str) -> str:
    return msg.render(lang) if isinstance(msg, Msg) else msg


def _invalid(where: str, msg: str, lang: str) -> list[dict[str, Any]]:
    return [{"loc": [where], "msg": _render(msg, lang), "type": "invalid_text"}]


async def _answer(send: Any, status: int, detail: str | list[dict[str, Any]], close: bool = False) -> None:
    body = orjson.dumps({"detail": detail})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if close:  # the rest of the body is never read: the connection cannot carry another request
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
