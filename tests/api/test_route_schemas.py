"""Every route declares its response: a pydantic model (not a bare dict), a file or Prometheus text (issue 12)."""

from __future__ import annotations

from api.app import create_app
from ems.park import Park
from ems.settings import Settings


def _typed(schema: dict[str, object]) -> bool:
    """A named model, or a list of one (a bare ``object`` or ``dict[str, Any]`` is not a schema)."""
    if "$ref" in schema:
        return True
    items = schema.get("items")
    return schema.get("type") == "array" and isinstance(items, dict) and "$ref" in items


def test_every_route_has_a_response_schema(tiny_park: Park) -> None:
    spec = create_app(Settings(), tiny_park, store=None).openapi()  # type: ignore[arg-type]  # schema only
    operations = [(m, p, op) for p, ops in spec["paths"].items() for m, op in ops.items()]
    assert len(operations) >= 30
    untyped = []
    for method, path, op in operations:
        code, ok = next((c, r) for c, r in op["responses"].items() if c.startswith("2"))
        content = ok.get("content", {})
        if code == "204" or "application/json" not in content:
            continue  # no body, a file download or Prometheus text
        if len(content) > 1:
            continue  # file downloads list their media types
        if not _typed(content["application/json"]["schema"]):
            untyped.append(f"{method} {path}")
    assert not untyped, untyped


def test_openapi_has_no_dangling_refs(tiny_park: Park) -> None:
    app = create_app(Settings(), tiny_park, store=None)  # type: ignore[arg-type]
    spec = app.openapi()
    names = set(spec["components"]["schemas"])
    refs: set[str] = set()

    def walk(x: object) -> None:
        if isinstance(x, dict):
            ref = x.get("$ref")
            if isinstance(ref, str):
                refs.add(ref.removeprefix("#/components/schemas/"))
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(spec["paths"])
    walk(spec["components"])
    assert refs and refs <= names, refs - names
