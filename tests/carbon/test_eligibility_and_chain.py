"""Pure rules of issue 22: the vintage window (hand-derived dates), RFC 8785 bytes, every entry field chained,
legacy rule-1 entries still verifying, and Ed25519 signatures (RFC 8032 test vector)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zoneinfo

import pytest

from ems.carbon.certificates import Period
from ems.carbon.eligibility import vintage_window
from ems.documents import chain
from ems.documents.signing import signature_valid
from ems.park import CertificateRules

SH = zoneinfo.ZoneInfo("Asia/Shanghai")
JUNE = Period(dt.datetime(2026, 6, 1, tzinfo=SH), dt.datetime(2026, 7, 1, tzinfo=SH))


@pytest.mark.parametrize(
    ("before", "after", "window"),
    [
        # June 2026, GEC rule: production ends on/after 2024-06-01, starts before 2026-07-01 (day after 30 June)
        (24, 0, (dt.date(2024, 6, 1), dt.date(2026, 7, 1))),
        # RE100-like: 6 months before, 3 whole months after June → before 2026-10-01
        (6, 3, (dt.date(2025, 12, 1), dt.date(2026, 10, 1))),
        (0, 0, (dt.date(2026, 6, 1), dt.date(2026, 7, 1))),
    ],
)
def test_vintage_window(before: int, after: int, window: tuple[dt.date, dt.date]) -> None:
    rules = CertificateRules(vintage_months_before=before, vintage_months_after=after)
    assert vintage_window(JUNE, rules, SH) == window


def test_canonical_json_is_rfc8785() -> None:
    # RFC 8785 section 3.2.3: keys sorted by UTF-16 code units, so U+1F600 (surrogates D83D..) sorts
    # before U+FB01 although its code point is larger; Python's sort_keys would put it last
    obj = {"\ufb01": "a", "\U0001f600": "b", "\r": "c", "1": "\u2028\x0f"}
    assert chain.canonical_json(obj) == '{"\\r":"c","1":"\u2028\\u000f","\U0001f600":"b","\ufb01":"a"}'.encode()
    assert json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode() != (
        chain.canonical_json(obj)
    )


def _entry(**extra: object) -> dict:  # type: ignore[type-arg]
    files = {"json": "r.json sha256:" + "1" * 64, "csv": "r.csv sha256:" + "2" * 64}
    return chain.new_entry(None, "c" * 64, "park", "a", "b", None, "t", "0.1.0", files, extra=extra)


@pytest.mark.parametrize(
    ("field", "value"),
    [("software_version", "0.1.1"), ("files", {"json": "r.json sha256:" + "3" * 64}), ("tenant_id", "T2")],
)
def test_every_field_is_inside_the_chain_hash(field: str, value: object) -> None:
    e = _entry(doc_type="tenant_statement", tenant_id="T1")
    assert chain.verify_chain([e]) == []
    assert chain.verify_chain([{**e, field: value}]) == [
        "entry seq 1: chain hash does not match its fields (entry altered)"
    ]


def test_legacy_rule_1_entries_still_verify() -> None:
    # an entry as issued before migration 0008: hashed over the rule-1 fields only (sha256 by hashlib here)
    legacy = {
        "seq": 1,
        "prev_chain_sha256": "0" * 64,
        "content_sha256": "c" * 64,
        "park": "p",
        "period_start": "a",
        "period_end": "b",
        "replaces_sha256": None,
        "issued_at": "t",
        "files": {},
    }
    body = json.dumps(legacy, sort_keys=True, separators=(",", ":")).encode()
    row = {**legacy, "chain_sha256": hashlib.sha256(body).hexdigest(), "software_version": "0.1.0"}
    row |= {"hash_rule": 1, "public_key": None, "signature": None}
    assert chain.verify_chain([row]) == []


def test_ed25519_rfc8032_test_vector_1() -> None:
    # RFC 8032 section 7.1, TEST 1: empty message. Our message is the ASCII chain hash, so check the
    # primitive with the standard's vector through the same function (message b"" = chain hash "")
    pk = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    sig = (
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46b"
        "d25bf5f0595bbe24655141438e7a100b"
    )
    assert signature_valid(pk, "", sig)
    assert not signature_valid(pk, "", sig[:-1] + "a")


def test_signatures_cannot_be_stripped_off_the_end() -> None:
    from ems.documents.signing import generate_pem, signer_from_pem

    signer = signer_from_pem(generate_pem(), "test")
    first = chain.new_entry(None, "a" * 64, "p", "a", "b", None, "t", "v", {}, signer=signer)
    # a forger recomputes entry 2 unsigned (the hash is public, the key is not)
    second = chain.new_entry((1, first["chain_sha256"]), "b" * 64, "p", "a", "b", None, "t", "v", {})
    assert chain.verify_chain([first]) == []
    assert chain.verify_chain([first, second]) == ["entry seq 2: unsigned after signed entries (signatures removed?)"]
