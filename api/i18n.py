"""The language of an API answer: ``Accept-Language`` if it names a supported one, else the park's.

Errors raised with an :class:`ems.i18n.Msg` detail are rendered in that language (other details,
such as messages from the core's exceptions, pass through in English); every error answer says
which language it is in (``Content-Language``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from ems.i18n import LANGUAGES, Msg, catalogue, from_accept_language


def request_language(request: Request) -> str:
    return from_accept_language(request.headers.get("accept-language")) or request.app.state.ems.park.language


Language = Annotated[str, Depends(request_language)]
"""The answer's language as a route parameter (documents rendered for the reader, e.g. PDFs)."""


async def translated_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    lang = request_language(request)
    if isinstance(exc.detail, Msg):
        exc = HTTPException(exc.status_code, exc.detail.render(lang), exc.headers)
    response = await http_exception_handler(request, exc)
    response.headers["content-language"] = lang
    return response


dashboard_router = APIRouter(include_in_schema=False)


@dashboard_router.get("/dashboard/i18n/{lang}.json")
def dashboard_messages(lang: str) -> JSONResponse:
    """The dashboard's catalogue (msgid → text). Public like the dashboard's own files: the key
    form needs it before any key is entered, and it holds no data."""
    if lang not in LANGUAGES:
        raise HTTPException(
            404, Msg("unsupported language {lang!r}; supported: {supported}", lang=lang, supported=", ".join(LANGUAGES))
        )
    return JSONResponse({"lang": lang, "messages": catalogue(lang, "dashboard")})
