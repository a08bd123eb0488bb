"""Issue, find, download and verify hash-chained documents, one chain per :class:`DocumentChain`.

Issuing checks the restatement rules, writes the document's files (canonical JSON plus renderings
such as CSV and PDF) and appends an entry to the chain, all under a table lock (concurrent issuers
get consecutive ``seq``, and a refused document leaves no file behind).
Issuing the same content twice returns the first entry (same inputs, same document: issued once).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

import ems
from ems.documents import chain as chain_rules
from ems.documents.signing import Signer
from ems.documents.timestamp import TimestampAuthority, TimestampError, request_token
from ems.i18n import N_, Msg
from ems.store import Store
from ems.store import document_queries as DQ

MEDIA_TYPES = {"json": "application/json", "csv": "text/csv", "pdf": "application/pdf"}


class DocumentError(ValueError):
    """A document cannot be issued or served (nothing was written)."""


@dataclass(frozen=True)
class IssuedDocument:
    content_sha256: str
    entry: dict[str, Any]
    files: dict[str, Path]


@dataclass(frozen=True)
class DocumentChain:
    """One chain: its table, how its documents are named in messages, and its optional export file."""

    table: DQ.ChainTable
    noun: str  # "report", "document"
    chain_name: str  # as named in messages
    export_name: str | None = None  # chain written as JSON lines next to the files after each issue

    def issue(
        self,
        store: Store,
        content: dict[str, Any],
        out_dir: Path,
        name: str,
        park: str,
        start: dt.datetime,
        end: dt.datetime,
        replaces: str | None = None,
        renderings: Callable[[str], dict[str, bytes]] = lambda _h: {},
        extra: dict[str, Any] | None = None,
        *,
        tz: dt.tzinfo | None = None,
        signer: Signer | None = None,
    ) -> IssuedDocument:
        """Write ``<name>_<start day>_<end day>_<hash12>.json`` and the renderings (made given the content
        hash), then chain the entry. ``extra`` are the table's own columns (e.g. document type and tenant);
        the days in the name are in ``tz`` (the park's zone; default the bounds' own).

        Everything that can refuse the document (the restatement rules) is checked under the chain's
        lock before any file is written, and the files are written inside the transaction that adds
        the entry: a refused document leaves nothing behind.
        """
        data, h = chain_rules.report_file_bytes(content)
        blobs = {"json": data, **renderings(h)}
        day = lambda t: (t.astimezone(tz) if tz else t).date().isoformat()  # noqa: E731
        stem = f"{name}_{day(start)}_{day(end)}_{h[:12]}"
        paths = {k: out_dir / f"{stem}.{k}" for k in blobs}
        files = {k: f"{paths[k].name} sha256:{chain_rules.sha256_hex(blobs[k])}" for k in paths}
        issued_at = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
        period = (start.astimezone(dt.UTC).isoformat(), end.astimezone(dt.UTC).isoformat())
        with store.connection() as conn, conn.transaction():
            DQ.lock(conn, self.table)
            found = DQ.find(conn, self.table, h)
            if found is not None:
                return IssuedDocument(h, found, self._write(out_dir, paths, blobs))  # same inputs: issued once
            if replaces is not None:
                self._check_restatement(conn, replaces, park, period, extra or {})
            entry = chain_rules.new_entry(
                DQ.last(conn, self.table),
                h,
                park,
                *period,
                replaces,
                issued_at,
                ems.__version__,
                files,
                extra=extra,
                signer=signer,
            )
            DQ.insert(conn, self.table, entry)
            self._write(out_dir, paths, blobs)
        if self.export_name is not None:
            self.export(store, out_dir / self.export_name)
        return IssuedDocument(h, entry, paths)

    @staticmethod
    def _write(out_dir: Path, paths: dict[str, Path], blobs: dict[str, bytes]) -> dict[str, Path]:
        out_dir.mkdir(parents=True, exist_ok=True)
        for k, p in paths.items():
            p.write_bytes(blobs[k])
        return paths

    def _check_restatement(
        self, conn: psycopg.Connection, replaces: str, park: str, period: tuple[str, str], extra: dict[str, Any]
    ) -> None:
        """A restatement names an issued document of the same park and period, and the same own columns
        (``extra``: document type, tenant), not yet restated. A document of another tenant or type is
        answered as if it did not exist: a tenant must not restate, or even probe, another's."""
        old = DQ.find(conn, self.table, replaces)
        if old is None or any(old.get(k) != v for k, v in extra.items()):
            raise DocumentError(
                Msg(
                    "{noun} {replaces} to be replaced is not in the {chain}",
                    noun=Msg(self.noun),
                    replaces=replaces,
                    chain=Msg(self.chain_name),
                )
            )
        if (old["park"], old["period_start"], old["period_end"]) != (park, *period):
            raise DocumentError(
                Msg(
                    "{noun} {replaces} covers {old_park} [{old_start}, {old_end}); a restatement must cover "
                    "the same park and period ({park} [{start}, {end}))",
                    noun=Msg(self.noun),
                    replaces=replaces,
                    old_park=old["park"],
                    old_start=old["period_start"],
                    old_end=old["period_end"],
                    park=park,
                    start=period[0],
                    end=period[1],
                )
            )
        later = chain_rules.replaced_by(DQ.entries(conn, self.table), replaces)
        if later is not None:
            raise DocumentError(
                Msg(
                    "{noun} {replaces} was already replaced by {later}; restate that one instead",
                    noun=Msg(self.noun),
                    replaces=replaces,
                    later=later,
                )
            )

    def find(self, store: Store, content_sha256: str) -> dict[str, Any] | None:
        """The chain entry of one issued document, or None."""
        with store.connection() as conn:
            return DQ.find(conn, self.table, content_sha256)

    def entries(self, store: Store, tenant_id: str | None = None) -> list[dict[str, Any]]:
        with store.connection() as conn:
            return DQ.entries(conn, self.table, tenant_id)

    def file(self, entry: dict[str, Any] | None, content_sha256: str, fmt: str, out_dir: Path) -> Path:
        """Path of one issued file (``fmt`` json, csv or pdf); DocumentError naming what is missing."""
        if fmt not in MEDIA_TYPES:
            raise DocumentError(Msg("format {fmt!r} not offered ({offered})", fmt=fmt, offered=", ".join(MEDIA_TYPES)))
        if entry is None or fmt not in entry["files"]:
            raise DocumentError(
                Msg("no issued {noun} {h!r} with a {fmt} file", noun=Msg(self.noun), h=content_sha256, fmt=fmt)
            )
        name = str(entry["files"][fmt]).split(" ")[0]
        path = out_dir / name
        if not path.exists():
            raise DocumentError(
                Msg("{noun} file {name} is missing from this server's data directory", noun=Msg(self.noun), name=name)
            )
        return path

    def verify(self, store: Store, data: bytes, trusted_keys: frozenset[str] | None = None) -> chain_rules.Verification:
        """Check a document file's bytes (JSON, CSV or PDF) against this chain (its hash, its entry,
        every link and signature)."""
        return chain_rules.verify_report(data, self.entries(store), trusted_keys)

    def timestamp_pending(self, store: Store, tsa: TimestampAuthority) -> tuple[int, list[str]]:
        """Request a token for every entry that has none; (tokens stored, problems). An authority that
        is down leaves the entries pending for the next run; nothing else changes."""
        with store.connection() as conn:
            have = DQ.timestamps(conn, self.table)
            pending = [e for e in DQ.entries(conn, self.table) if e["chain_sha256"] not in have]
        stored, problems = 0, []
        for e in pending:
            try:
                token, when = request_token(tsa, e["chain_sha256"])
            except TimestampError as exc:
                problems.append(f"{self.noun} seq {e['seq']}: {exc}")
                continue
            with store.connection() as conn:
                DQ.add_timestamp(conn, self.table, e["chain_sha256"], tsa.public_url, token, when)
            stored += 1
        return stored, problems

    def timestamp_of(self, store: Store, chain_sha256: str) -> tuple[bytes, dt.datetime, str] | None:
        """(token, genTime, authority URL) of one entry, or None if it has no token yet."""
        with store.connection() as conn:
            return DQ.timestamps(conn, self.table).get(chain_sha256)

    def export(self, store: Store, path: Path) -> Path:
        """Write the chain as JSON lines (one canonical entry per line) for offline verification."""
        lines = [chain_rules.canonical_json(e).decode("utf-8") for e in self.entries(store)]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")
        return path


CARBON_REPORTS = DocumentChain(DQ.CARBON_REPORTS, N_("report"), N_("hash chain"), export_name="hash_chain.jsonl")
FOOTPRINT_DOCUMENTS = DocumentChain(DQ.FOOTPRINT_DOCUMENTS, N_("document"), N_("footprint hash chain"))


def read_chain_file(path: Path) -> list[dict[str, Any]]:
    """Entries of an exported chain file (:meth:`DocumentChain.export`)."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
