"""Parts every issued document shares: its header and the park it is about."""

from __future__ import annotations

import re
from typing import Any

from ems.park import Park

SOFTWARE_NAME = "zero-carbon-park-ems"


def header(schema: str, software_version: str) -> dict[str, Any]:
    """The schema id and the software that wrote the document (first keys of every document)."""
    return {"schema": schema, "software": {"name": SOFTWARE_NAME, "version": software_version}}


def park_identity(park: Park) -> dict[str, str]:
    return {
        "name": park.name,
        "province": park.province,
        "grid_region": park.grid_region,
        "timezone": park.timezone,
    }


def slug(text: str, empty: str) -> str:
    """A file-name part from free text (lower-case, dashes, at most 40 characters; ``empty`` if none left)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or empty
