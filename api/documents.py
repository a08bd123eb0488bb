"""What the carbon and tenant routes share about issued documents: the chain entry schema and downloads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import HTTPException
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from api.security import Problem
from ems.documents.service import MEDIA_TYPES, DocumentChain, DocumentError
from ems.documents.signing import Signer, SigningKeyError
from ems.i18n import message_of
from ems.settings import Settings


class ChainEntryPublic(BaseModel):
    """One entry of a hash chain. Timestamps are the exact strings the chain hash covers (UTC ISO 8601),
    so an entry fetched here can be re-hashed offline."""

    seq: int
    content_sha256: str
    prev_chain_sha256: str
    chain_sha256: str
    park: str
    period_start: str
    period_end: str
    replaces_sha256: str | None
    software_version: str
    files: dict[str, str] = Field(description="format -> 'file name sha256:<hash of the file>'")
    issued_at: str
    doc_type: str | None = Field(None, description="tenant documents: tenant_statement, cbam_sheet, product_inventory")
    tenant_id: str | None = Field(None, description="tenant documents: the tenant")
    hash_rule: int = Field(1, description="2: chain_sha256 covers every field but itself and signature; 1: legacy")
    public_key: str | None = Field(None, description="Ed25519 public key (hex) of the park's signing key")
    signature: str | None = Field(None, description="Ed25519 signature (hex) of chain_sha256 as ASCII")


class DocumentIssued(BaseModel):
    """A document issued into its chain: the content hash, the chain entry and where to download each format."""

    content_sha256: str
    entry: ChainEntryPublic
    downloads: dict[str, str]


DOWNLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {m: {} for m in MEDIA_TYPES.values()}},
    404: {"model": Problem, "description": "no such document or format"},
}


def report_signer(settings: Settings) -> Signer | None:
    """The park's signing key; a key configured but unusable is the server's fault (500, no key material)."""
    try:
        return settings.report_signer()
    except SigningKeyError as exc:
        raise HTTPException(500, f"document signing is misconfigured: {exc}") from None


def file_response(
    chain: DocumentChain, entry: dict[str, Any] | None, content_sha256: str, fmt: str, out_dir: Path
) -> FileResponse:
    """One issued file of ``entry`` (404 naming what is missing)."""
    try:
        path = chain.file(entry, content_sha256, fmt, out_dir)
    except DocumentError as exc:
        raise HTTPException(404, message_of(exc)) from None
    return FileResponse(path, media_type=MEDIA_TYPES[fmt], filename=path.name)
