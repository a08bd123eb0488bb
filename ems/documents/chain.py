"""Canonical JSON, content hashes and the append-only hash chain of issued documents.

The rules are shared by every chain (carbon reports, footprint documents); each chain lives in
its own table (:mod:`ems.store.document_queries`).

* Canonical JSON: RFC 8785 (JSON Canonicalization Scheme, through the ``rfc8785`` package) with
  no floats (numbers are decimal strings or integers), so equal content always gives equal bytes
  and any JCS implementation reproduces them.
* ``content_sha256 = sha256(canonical_json(report))``; a report file is the canonical JSON of
  ``{"content_sha256": ..., "report": ...}``.
* Chain: entry n links to entry n-1 through ``chain_sha256_n = sha256(canonical_json(entry minus
  chain_sha256 and signature))`` (hash rule 2: every other field, ``software_version``, the hashes of
  the JSON/CSV/PDF files, the public key, the table's own columns, is inside the hash), with
  ``prev_chain_sha256`` of the first entry = 64 zeros. Entries issued before rule 2 (``hash_rule``
  1) were hashed over :data:`LEGACY_CHAINED_FIELDS` and are verified that way. Changing any
  report, entry or their order breaks every later link.
* ``signature`` (optional): Ed25519 over ``chain_sha256`` with the key whose public half is the
  entry's ``public_key`` (:mod:`ems.documents.signing`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import rfc8785

from ems.documents.signing import Signer, signature_valid

GENESIS = "0" * 64
HASH_RULE = 2
UNCHAINED_FIELDS = ("chain_sha256", "signature")  # the hash itself, and the signature of the hash
LEGACY_CHAINED_FIELDS = (  # hash rule 1 (software_version and the table's own columns were left out)
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
    return rfc8785.dumps(_check(obj))


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
    if int(entry.get("hash_rule") or 1) == 1:
        return sha256_hex(canonical_json({k: entry.get(k) for k in LEGACY_CHAINED_FIELDS}))
    return sha256_hex(canonical_json({k: v for k, v in entry.items() if k not in UNCHAINED_FIELDS}))


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
    *,
    extra: dict[str, Any] | None = None,
    signer: Signer | None = None,
) -> dict[str, Any]:
    """The next chain entry after ``prev`` = (seq, chain_sha256) or None for the first.

    ``extra`` are the table's own columns (chained like the rest); ``signer`` signs the entry.
    """
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
        "hash_rule": HASH_RULE,
        "public_key": None if signer is None else signer.public_key_hex,
        **(extra or {}),
    }
    entry["chain_sha256"] = chain_hash(entry)
    entry["signature"] = None if signer is None else signer.sign(entry["chain_sha256"])
    return entry


def verify_chain(entries: list[dict[str, Any]], trusted_keys: frozenset[str] | None = None) -> list[str]:
    """Problems found walking the chain from the first entry (empty list = intact).

    Signed entries must carry a valid Ed25519 signature; with ``trusted_keys`` (public keys, hex)
    their key must also be one of them, so a re-signed forged chain is refused. Once an entry is
    signed, every later one must be (stripping the signatures off the end of a chain is refused).
    """
    problems = []
    prev = GENESIS
    signed = False
    for i, e in enumerate(sorted(entries, key=lambda e: int(e["seq"])), start=1):
        if int(e["seq"]) != i:
            problems.append(f"entry seq {e['seq']}: expected seq {i} (entry missing or reordered)")
        if e["prev_chain_sha256"] != prev:
            problems.append(f"entry seq {e['seq']}: does not link to the previous entry")
        if chain_hash(e) != e["chain_sha256"]:
            problems.append(f"entry seq {e['seq']}: chain hash does not match its fields (entry altered)")
        problems += _signature_problems(e, trusted_keys)
        if signed and e.get("signature") is None:
            problems.append(f"entry seq {e['seq']}: unsigned after signed entries (signatures removed?)")
        signed = signed or e.get("signature") is not None
        prev = e["chain_sha256"]
    return problems


def _signature_problems(e: dict[str, Any], trusted_keys: frozenset[str] | None) -> list[str]:
    key, sig = e.get("public_key"), e.get("signature")
    if key is None and sig is None:
        return []
    if key is None or sig is None:
        return [f"entry seq {e['seq']}: signature or public key missing"]
    if not signature_valid(key, e["chain_sha256"], sig):
        return [f"entry seq {e['seq']}: Ed25519 signature does not verify (entry or signature altered)"]
    if trusted_keys is not None and key not in trusted_keys:
        return [f"entry seq {e['seq']}: signed with public key {key}, not the park's configured key"]
    return []


@dataclass
class Verification:
    """Outcome of checking one file; ``replaced_by`` is the report restating it (still valid)."""

    ok: bool
    content_sha256: str | None = None
    entry: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)
    fmt: str | None = None  # which issued file the bytes are: json, csv or pdf
    replaced_by: str | None = None
    timestamp: str | None = None  # the entry's RFC 3161 genTime and authority, when it has a token

    @property
    def status(self) -> str:
        if not self.ok:
            return "invalid"
        return "valid" if self.replaced_by is None else f"valid, replaced by {self.replaced_by}"


def file_hash(entry: dict[str, Any], fmt: str) -> str | None:
    """The sha256 recorded in ``entry`` for its ``fmt`` file (``"name sha256:<hex>"``), or None."""
    ref = entry.get("files", {}).get(fmt)
    return None if ref is None else str(ref).rpartition("sha256:")[2]


def replaced_by(entries: list[dict[str, Any]], content_sha256: str) -> str | None:
    """Content hash of the latest report restating ``content_sha256`` directly, or None."""
    later = [e for e in entries if e.get("replaces_sha256") == content_sha256]
    return max(later, key=lambda e: int(e["seq"]))["content_sha256"] if later else None


def _verify_rendering(data: bytes, entries: list[dict[str, Any]], trusted_keys: frozenset[str] | None) -> Verification:
    """A CSV or PDF file: its sha256 must be one recorded in a chain entry."""
    h = sha256_hex(data)
    for e in entries:
        for fmt in e.get("files", {}):
            if fmt != "json" and file_hash(e, fmt) == h:
                problems = verify_chain(entries, trusted_keys)
                c = e["content_sha256"]
                return Verification(not problems, c, e, problems, fmt, replaced_by(entries, c))
    return Verification(
        False,
        problems=[
            f"not a report JSON file, and its sha256 {h} matches no file recorded in the chain "
            "(a CSV or PDF changed after it was issued, or never issued)"
        ],
    )


def verify_report(
    data: bytes, entries: list[dict[str, Any]], trusted_keys: frozenset[str] | None = None
) -> Verification:
    """Check an issued file (JSON, CSV or PDF): its own hash, its place in the chain, and the chain
    up to the end. A report restated later is still valid and says by which report."""
    try:
        doc = json.loads(data.decode("utf-8"))
        report, claimed = doc["report"], doc["content_sha256"]
    except (ValueError, KeyError, TypeError):
        return _verify_rendering(data, entries, trusted_keys)
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
    elif file_hash(entry, "json") not in (None, sha256_hex(data)):
        problems.append("file bytes differ from the JSON file recorded in the chain entry")
    problems += verify_chain(entries, trusted_keys)
    return Verification(not problems, actual, entry, problems, "json", replaced_by(entries, actual))
