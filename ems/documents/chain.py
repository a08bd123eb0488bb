"""Canonical JSON, content hashes and the append-only hash chain of issued documents.

The rules are shared by every chain (carbon reports, footprint documents); each chain lives in
its own table (:mod:`ems.store.document_queries`).

* Canonical JSON: UTF-8, keys sorted, no insignificant whitespace, no floats (numbers are
  decimal strings or integers), so equal content always gives equal bytes.
* ``content_sha256 = sha256(canonical_json(report))``; a report file is the canonical JSON of
  ``{"content_sha256": ..., "report": ...}``.
* Chain: entry n links to entry n-1 through
  ``chain_sha256_n = sha256(canonical_json({seq, prev_chain_sha256, content_sha256, park,
  period_start, period_end, replaces_sha256, issued_at, files}))`` with ``prev_chain_sha256`` of the
  first entry = 64 zeros. Changing any report, entry or their order breaks every later link.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

GENESIS = "0" * 64
CHAINED_FIELDS = (
    "seq",
    "prev_chain_sha256",
    "content_sha256",
    "park",
    "period_start",
    "period_end",
    "replaces_sha256",
    "issued_at",
    "files",
)


_PLAIN = {str, bool, int, type(None)}


def _check(obj: Any, path: str = "$") -> Any:
    if type(obj) is list and set(map(type, obj)) <= _PLAIN:  # fast path: the interval columns
        return obj
    if isinstance(obj, float):
        raise TypeError(f"float at {path}: hashed report content must use decimal strings")
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, dict):
        return {str(k): _check(v, f"{path}.{k}") for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_check(v, f"{path}[{i}]") for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, str | int | bool):
        return obj
    raise TypeError(f"{type(obj).__name__} at {path} is not allowed in canonical JSON")


def canonical_json(obj: Any) -> bytes:
    """Canonical bytes (module docstring). Decimals become strings; floats are refused."""
    return json.dumps(_check(obj), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content_hash(report: dict[str, Any]) -> str:
    return sha256_hex(canonical_json(report))


def report_file_bytes(report: dict[str, Any]) -> tuple[bytes, str]:
    """(file bytes, content hash) of a report.

    Equal to ``canonical_json({"content_sha256": h, "report": report})`` (asserted in the tests),
    assembled from the already-serialised report so the large content is encoded once.
    """
    body = canonical_json(report)
    h = sha256_hex(body)
    return b'{"content_sha256":"' + h.encode("ascii") + b'","report":' + body + b"}", h


def chain_hash(entry: dict[str, Any]) -> str:
    return sha256_hex(canonical_json({k: entry.get(k) for k in CHAINED_FIELDS}))


def new_entry(
    prev: tuple[int, str] | None,
    content_sha256: str,
    park: str,
    period_start: str,
    period_end: str,
    replaces_sha256: str | None,
    issued_at: str,
    software_version: str,
    files: dict[str, str],
) -> dict[str, Any]:
    """The next chain entry after ``prev`` = (seq, chain_sha256) or None for the first."""
    seq, prev_hash = (1, GENESIS) if prev is None else (prev[0] + 1, prev[1])
    entry: dict[str, Any] = {
        "seq": seq,
        "prev_chain_sha256": prev_hash,
        "content_sha256": content_sha256,
        "park": park,
        "period_start": period_start,
        "period_end": period_end,
        "replaces_sha256": replaces_sha256,
        "issued_at": issued_at,
        "software_version": software_version,
        "files": files,
    }
    entry["chain_sha256"] = chain_hash(entry)
    return entry


def verify_chain(entries: list[dict[str, Any]]) -> list[str]:
    """Problems found walking the chain from the first entry (empty list = intact)."""
    problems = []
    prev = GENESIS
    for i, e in enumerate(sorted(entries, key=lambda e: int(e["seq"])), start=1):
        if int(e["seq"]) != i:
            problems.append(f"entry seq {e['seq']}: expected seq {i} (entry missing or reordered)")
        if e["prev_chain_sha256"] != prev:
            problems.append(f"entry seq {e['seq']}: does not link to the previous entry")
        if chain_hash(e) != e["chain_sha256"]:
            problems.append(f"entry seq {e['seq']}: chain hash does not match its fields (entry altered)")
        prev = e["chain_sha256"]
    return problems


@dataclass
class Verification:
    ok: bool
    content_sha256: str | None = None
    entry: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)


def verify_report(data: bytes, entries: list[dict[str, Any]]) -> Verification:
    """Check a report file: its own hash, its place in the chain, and the chain up to the end."""
    try:
        doc = json.loads(data.decode("utf-8"))
        report, claimed = doc["report"], doc["content_sha256"]
    except (ValueError, KeyError, TypeError) as exc:
        return Verification(False, problems=[f"not a report file: {exc}"])
    problems = []
    try:
        actual = content_hash(report)
    except TypeError as exc:
        return Verification(False, problems=[f"report content is not canonical: {exc}"])
    if actual != claimed:
        problems.append(
            f"content hash {actual} does not match the hash stated in the file ({claimed}): "
            "the report was changed after it was issued"
        )
    if canonical_json(doc) != data:
        problems.append("file bytes are not in canonical form (reformatted or edited)")
    entry = next((e for e in entries if e["content_sha256"] == actual), None)
    if entry is None:
        problems.append(f"no issued report with content hash {actual} in the hash chain")
    problems += verify_chain(entries)
    return Verification(not problems, actual, entry, problems)
