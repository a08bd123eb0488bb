"""RFC 3161 trusted timestamps of chain entries, from a configured time-stamping authority (TSA).

``rfc3161-client`` (Trail of Bits, the sigstore project's time-stamp protocol in Rust) builds the
request, parses the response and verifies the token: the CMS signature, the TSA certificate's
critical timeStamping key usage and its chain to the configured roots (valid at the token's time),
the nonce and the message imprint. Hand-written ASN.1/CMS is where timestamp checks go wrong.

What is timestamped: the 32 bytes of the entry's chain hash (``chain_sha256`` hex-decoded); the
token's message imprint is their SHA-256. The chain hash covers every field of the entry (hash
rule 2), so the token proves the entry existed, unchanged, no later than the authority's genTime.
An auditor checks a token without this software::

    printf %s <chain_sha256> | xxd -r -p > entry.bin
    openssl ts -verify -data entry.bin -in token.tsr -CAfile tsa-root.pem -untrusted tsa.pem
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography import x509
from rfc3161_client import (
    HashAlgorithm,
    PKIStatus,
    TimestampRequestBuilder,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"


class TimestampError(Exception):
    """The authority could not be reached or gave no usable token (the entry stays unstamped)."""


@dataclass(frozen=True)
class TimestampAuthority:
    """Where tokens come from and which roots their signer must chain to."""

    url: str  # may carry credentials (https://user:password@host/…): never stored, logged or printed as it is
    roots: tuple[x509.Certificate, ...] = ()
    timeout_s: float = 10.0

    @property
    def public_url(self) -> str:
        """``url`` without its credentials: what is stored beside a token and shown in messages."""
        parts = urllib.parse.urlsplit(self.url)
        if parts.username is None and parts.password is None:
            return self.url
        host = parts.hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        netloc += f":{parts.port}" if parts.port else ""
        return urllib.parse.urlunsplit(parts._replace(netloc=netloc))

    @classmethod
    def configured(cls, url: str | None, roots_file: Path | None, timeout_s: float = 10.0) -> TimestampAuthority | None:
        if not url:
            return None
        roots = () if roots_file is None else tuple(x509.load_pem_x509_certificates(roots_file.read_bytes()))
        return cls(url, roots, timeout_s)


def _without(text: str, tsa: TimestampAuthority) -> str:
    """``text`` with the authority's full URL (and so its credentials) replaced by the public one."""
    return text.replace(tsa.url, tsa.public_url)


def message(chain_sha256: str) -> bytes:
    """The bytes a token's imprint is computed over: the entry's chain hash, hex-decoded."""
    return bytes.fromhex(chain_sha256)


def request_token(tsa: TimestampAuthority, chain_sha256: str) -> tuple[bytes, dt.datetime]:
    """A token for one entry: (DER TimeStampResp, genTime). Checked before it is returned: status
    granted, our nonce and imprint, and the signature against the roots when roots are configured."""
    req = TimestampRequestBuilder().data(message(chain_sha256)).hash_algorithm(HashAlgorithm.SHA256).build()
    try:
        r = httpx.post(tsa.url, content=req.as_bytes(), headers={"Content-Type": QUERY_TYPE}, timeout=tsa.timeout_s)
    except httpx.HTTPError as exc:
        raise TimestampError(f"{tsa.public_url}: {type(exc).__name__}: {_without(str(exc), tsa)}") from None
    if r.status_code != 200 or not r.headers.get("content-type", "").startswith(REPLY_TYPE):
        raise TimestampError(f"{tsa.public_url}: HTTP {r.status_code} {r.headers.get('content-type', '')}")
    try:
        resp = decode_timestamp_response(r.content)
    except ValueError as exc:
        raise TimestampError(f"{tsa.public_url}: not a timestamp response ({exc})") from None
    if resp.status not in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS):
        raise TimestampError(f"{tsa.public_url}: request refused, status {resp.status}: {resp.status_string}")
    if resp.tst_info.nonce != req.nonce or resp.tst_info.message_imprint.message != req.message_imprint.message:
        raise TimestampError(f"{tsa.public_url}: the token answers another request (nonce or imprint differ)")
    if tsa.roots:
        problems = verify_token(r.content, chain_sha256, tsa.roots)
        if problems:
            raise TimestampError(f"{tsa.public_url}: {problems[0]}")
    return r.content, resp.tst_info.gen_time.astimezone(dt.UTC)


def verify_token(token: bytes, chain_sha256: str, roots: tuple[x509.Certificate, ...]) -> list[str]:
    """Problems of a stored token for the entry with ``chain_sha256`` (empty = valid): it must
    decode, be signed by a time-stamping certificate chaining to ``roots``, and carry the entry's imprint."""
    if not roots:
        return ["no trusted time-stamping root configured (EMS_TSA_ROOTS_FILE): the token cannot be checked"]
    try:
        resp = decode_timestamp_response(token)
        VerifierBuilder(roots=list(roots)).build().verify_message(resp, message(chain_sha256))
    except (ValueError, VerificationError) as exc:
        return [f"timestamp token does not verify: {exc}"]
    return []


def gen_time(token: bytes) -> dt.datetime:
    return decode_timestamp_response(token).tst_info.gen_time.astimezone(dt.UTC)
