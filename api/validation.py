"""422 answers that can always be written: FastAPI's validation error echoes the offending input,
and a bare ``NaN``/``Infinity`` token (accepted by Python's JSON decoder) cannot be written back
as JSON, which turned the 422 into a 500. Non-finite numbers are echoed as text instead.

Each entry's ``msg`` is in the request's language: pydantic's English for English, otherwise the
catalogue message of its error ``type`` (:mod:`ems.validation_i18n`, the park file's mechanism);
``type`` and ``loc`` stay as pydantic writes them, for programs."""

from __future__ import annotations

import math
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from api.i18n import request_language
from ems.i18n import localise
from ems.validation_i18n import validation_message


def _finite(node: Any) -> Any:
    if isinstance(node, float) and not math.isfinite(node):
        return str(node)
    if isinstance(node, dict):
        return {k: _finite(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_finite(v) for v in node]
    return node


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    lang = request_language(request)
    errors = exc.errors()
    if lang != "en":
        errors = [{**e, "msg": localise(validation_message(e), lang)} for e in errors]
    return JSONResponse(
        {"detail": _finite(jsonable_encoder(errors))}, status_code=422, headers={"Content-Language": lang}
    )
