"""Footprint functions over the store: compute, production counts, documents and their hash chain.

Entry points for the CLI and the API: :func:`footprint_for`, :func:`record_production`,
:func:`issue_document`, :func:`list_documents`, :func:`verify_document_file`, :func:`balance`.
Documents use the carbon report's hash-chain rules (:mod:`ems.documents`) in their own chain
(:data:`ems.documents.service.FOOTPRINT_DOCUMENTS`); the document type and tenant are inside the
hashed content.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import ems
from ems.carbon import records
from ems.carbon import service as carbon
from ems.carbon.aggregate import milli_to_decimal
from ems.carbon.factors import FactorRegistry
from ems.documents.chain import Verification
from ems.documents.content import slug
from ems.documents.service import FOOTPRINT_DOCUMENTS as DOCUMENTS
from ems.documents.service import IssuedDocument
from ems.documents.signing import Signer
from ems.footprint.allocate import COLUMNS
from ems.footprint.cbam import cbam_sheet, product_inventory
from ems.footprint.metering import meter_plan
from ems.footprint.production import ProductionCheck
from ems.footprint.result import FootprintRun, compute_footprint
from ems.footprint.statement import build_statement, statement_csv
from ems.park import Park
from ems.store import Store
from ems.store import carbon_queries as CQ
from ems.store import footprint_queries as FQ

DOC_TYPES = ("tenant_statement", "cbam_sheet", "product_inventory")


def footprint_for(
    store: Store, park: Park, start: dt.datetime, end: dt.datetime, registry: FactorRegistry | None = None
) -> FootprintRun:
    """Account [start, end) (ems.carbon.service.run_for) and allocate it to the park's tenants."""
    plan = meter_plan(park)
    run = carbon.run_for(store, park, start, end, registry)
    ie = store.interval_energy(start, end, plan.devices)
    zone = park.tz
    first = start.astimezone(zone).date()
    last = (end.astimezone(zone) - dt.timedelta(microseconds=1)).date()
    lines = list(plan.lines)
    serials = sorted({r.serial for r in run.retirements})
    with store.connection() as conn:
        prod = FQ.production(conn, lines, first, last) if lines else {}
        certs = {r.serial: records.certificate(r) for r in CQ.certificates(conn, serials)} if serials else {}
    return compute_footprint(park, start, end, run, ie, prod, certs)


def record_production(store: Store, check: ProductionCheck) -> int:
    """Store the accepted rows of a checked batch (the rejected ones are the caller's to report)."""
    if not check.accepted:
        return 0
    with store.connection() as conn, conn.transaction():
        return FQ.insert_production(conn, [(r.line, r.day, r.quantity, r.unit, r.source) for r in check.accepted])


def balance(fr: FootprintRun) -> dict[str, Any]:
    """Every allocation row's period totals and the park totals (auditors; shows the exact balance)."""
    al = fr.allocation
    rows = {r: {c: str(milli_to_decimal(al.total(c, r))) for c in COLUMNS} for r in al.rows}
    park = {c: str(milli_to_decimal(int(al.park[c].sum()))) for c in COLUMNS}
    diff = {c: str(milli_to_decimal(int(al.park[c].sum()) - int(al.columns[c].sum()))) for c in COLUMNS}
    return {"rows": rows, "park": park, "park_minus_rows": diff}


def document_content(
    fr: FootprintRun, doc_type: str, subject: str, replaces: str | None = None
) -> tuple[str, dict[str, Any]]:
    """(tenant id, content) of a document; ``subject`` is a tenant id, or a line id for a product inventory."""
    v = ems.__version__
    if doc_type == "tenant_statement":
        fr.tenant(subject)
        return subject, build_statement(fr, subject, software_version=v, replaces=replaces)
    if doc_type == "cbam_sheet":
        fr.tenant(subject)
        return subject, cbam_sheet(fr, subject, software_version=v)
    if doc_type == "product_inventory":
        content = product_inventory(fr, subject, software_version=v)
        return str(content["product"]["tenant"]), content
    raise ValueError(f"document type must be one of {DOC_TYPES}, got {doc_type!r}")


def issue_document(
    store: Store,
    park: Park,
    doc_type: str,
    subject: str,
    start: dt.datetime,
    end: dt.datetime,
    out_dir: Path,
    *,
    replaces: str | None = None,
    pdf: bool = True,
    fr: FootprintRun | None = None,
    signer: Signer | None = None,
    lang: str = "en",
) -> IssuedDocument:
    """Build the document, write JSON (+CSV and PDF for statements; the PDF in ``lang``) and append
    it to the footprint chain."""
    fr = fr or footprint_for(store, park, start, end)
    tenant_id, content = document_content(fr, doc_type, subject, replaces)

    def renderings(h: str) -> dict[str, bytes]:
        if doc_type != "tenant_statement":
            return {}
        blobs = {"csv": statement_csv(content)}
        if pdf:
            from ems.footprint.pdf import render_statement_pdf

            blobs["pdf"] = render_statement_pdf(content, h, lang)
        return blobs

    name = f"{doc_type}_{slug(subject, 'x')}"
    extra = {"doc_type": doc_type, "tenant_id": tenant_id}
    return DOCUMENTS.issue(
        store, content, out_dir, name, park.name, start, end, replaces, renderings, extra, tz=park.tz, signer=signer
    )


def list_documents(store: Store, tenant_id: str | None = None) -> list[dict[str, Any]]:
    """The footprint chain, or one tenant's entries of it."""
    return DOCUMENTS.entries(store, tenant_id)


def verify_document_file(path_or_bytes: Path | bytes, store: Store) -> Verification:
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else path_or_bytes.read_bytes()
    return DOCUMENTS.verify(store, data)
