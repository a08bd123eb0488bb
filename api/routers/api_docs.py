"""Self-hosted interactive API docs: Swagger UI served from the ``swagger-ui-bundle-v2`` package.

FastAPI's default ``/docs`` loads Swagger UI from a CDN, which leaves the page blank on a park's
isolated network, and its inline start-up script would be blocked by the API's own
Content-Security-Policy (``default-src 'self'``). Here every asset, the start-up script
included, is a file served by the API itself. The package ships Swagger UI 5, which renders
the OpenAPI 3.1 document FastAPI produces (Swagger UI 4 cannot).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, Response
from swagger_ui_bundle import swagger_ui_path

ASSETS = Path(swagger_ui_path)
SERVED = frozenset(
    {"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "favicon-32x32.png",
     "oauth2-redirect.html", "oauth2-redirect.js"}
)  # fmt: skip

router = APIRouter(include_in_schema=False)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} - API docs</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/swagger-ui-standalone-preset.js"></script>
<script src="/docs/init.js"></script>
</body></html>
"""

# persistAuthorization keeps the pasted API key across reloads (in the browser's local storage)
_INIT = """window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "BaseLayout",
});
"""


@router.get("/docs")
def docs_page() -> HTMLResponse:
    return HTMLResponse(_PAGE.format(title="Zero-carbon park EMS"))


@router.get("/docs/init.js")
def docs_init() -> Response:
    return Response(_INIT, media_type="text/javascript")


@router.get("/docs/assets/{name}")
def docs_asset(name: str) -> FileResponse:
    if name not in SERVED:  # a fixed list: no path from the URL reaches the file system
        raise HTTPException(404, f"no docs asset {name!r}")
    return FileResponse(ASSETS / name)
