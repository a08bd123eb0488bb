"""Operators: server-sent events (``text/event-stream``) with new readings, plan changes and alerts.

Events: ``hello`` (the stream is live: changes after it are sent), ``reading`` {device, quantity, time,
value}, ``plan`` {schedule_id}, ``alerts`` {open, new}, ``dropped`` (the client fell behind; reconnect);
a comment line after ``stream_heartbeat_s`` of silence keeps proxies from closing an idle stream. A
stream ends after ``stream_max_age_s`` (clients reconnect), so none is held forever; a client that
disconnects is noticed by Starlette and its generator cancelled.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import StreamingResponse

from api.deps import SettingsDep
from api.live_feed import DROPPED, LiveFeed, TooManyClients
from api.security import AUTH_RESPONSES, Operator, Problem
from ems.i18n import Msg

router = APIRouter(prefix="/v1", tags=["operators"], responses=AUTH_RESPONSES)


def sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "server-sent events"},
        503: {"model": Problem, "description": "too many streams open"},
    },
    summary="live updates as server-sent events: readings, plan changes, alerts",
)
async def stream(_: Operator, request: Request, settings: SettingsDep) -> StreamingResponse:
    feed: LiveFeed = request.app.state.live_feed
    try:
        client = await feed.subscribe()
    except TooManyClients:
        raise HTTPException(503, Msg("too many live streams open; try again later")) from None

    async def events() -> AsyncIterator[bytes]:
        ends = time.monotonic() + settings.stream_max_age_s
        try:
            yield sse("hello", {"retry_ms": 2000})
            while (left := ends - time.monotonic()) > 0:
                try:
                    name, data = await asyncio.wait_for(
                        client.queue.get(), timeout=min(settings.stream_heartbeat_s, left)
                    )
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                yield sse(name, data)
                if (name, data) == DROPPED:
                    break
        finally:
            feed.unsubscribe(client)

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
