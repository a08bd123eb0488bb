"""RFC 3161 timestamps of chain entries (issue 21), against OpenSSL's own time-stamping authority.

The authority is ``openssl ts -reply`` behind a small HTTP server, with a throwaway root and TSA
certificate made by ``openssl`` in the fixture; the token the project stores is then checked by
``openssl ts -verify`` (the oracle), and tampering is refused by the project's own check.
"""

from __future__ import annotations

import datetime as dt
import http.server
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509

from ems.documents.service import CARBON_REPORTS
from ems.documents.timestamp import TimestampAuthority, TimestampError, request_token, verify_token
from ems.park import Park
from ems.store import Store

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")

TSA_CONF = """
[ tsa ]
default_tsa = tsa1
[ tsa1 ]
dir = {dir}
serial = $dir/tsaserial
crypto_device = builtin
signer_cert = $dir/tsa.pem
certs = $dir/tsa.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_alg = sha256
"""


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


def make_pki(d: Path, name: str) -> None:
    """A root (``{name}-ca.pem``) and a TSA certificate it signed (critical EKU timeStamping)."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", f"{name}-ca.key", "-out", f"{name}-ca.pem", "-days", "30",
             "-subj", f"/CN={name} root", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)  # fmt: skip
    (d / "ext.cnf").write_text(
        "extendedKeyUsage=critical,timeStamping\nkeyUsage=critical,digitalSignature\nbasicConstraints=CA:FALSE\n"
    )
    _openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name} TSA", cwd=d)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{name}-ca.pem", "-CAkey", f"{name}-ca.key",
             "-CAcreateserial", "-out", f"{name}.pem", "-days", "30", "-extfile", "ext.cnf", cwd=d)  # fmt: skip


class _Tsa(http.server.BaseHTTPRequestHandler):
    directory: Path

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        q = self.directory / f"q{threading.get_ident()}.tsq"
        r = q.with_suffix(".tsr")
        q.write_bytes(body)
        _openssl("ts", "-reply", "-config", "tsa.cnf", "-queryfile", q.name, "-out", r.name, cwd=self.directory)
        data = r.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TimestampAuthority, Path]]:
    d = tmp_path_factory.mktemp("tsa")
    make_pki(d, "tsa")
    (d / "tsa.cnf").write_text(TSA_CONF.format(dir=d))
    (d / "tsaserial").write_text("01\n")
    handler = type("Handler", (_Tsa,), {"directory": d})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    roots = tuple(x509.load_pem_x509_certificates((d / "tsa-ca.pem").read_bytes()))
    yield TimestampAuthority(f"http://127.0.0.1:{server.server_port}/tsa", roots, 10.0), d
    server.shutdown()


def _issue(store: Store, park: Park, tmp: Path, n: int) -> list[str]:
    start = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    out = []
    for k in range(n):
        doc = CARBON_REPORTS.issue(
            store, {"k": k}, tmp, "test", park.name, start + dt.timedelta(days=k), start + dt.timedelta(days=k + 1)
        )
        out.append(doc.entry["chain_sha256"])
    return out


def test_tokens_are_stored_and_openssl_verifies_them(
    store: Store, tiny_park: Park, tmp_path: Path, tsa: tuple[TimestampAuthority, Path]
) -> None:
    authority, d = tsa
    hashes = _issue(store, tiny_park, tmp_path, 2)
    before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=2)
    assert CARBON_REPORTS.timestamp_pending(store, authority) == (2, [])
    assert CARBON_REPORTS.timestamp_pending(store, authority) == (0, [])  # each entry stamped once
    for h in hashes:
        stamp = CARBON_REPORTS.timestamp_of(store, h)
        assert stamp is not None
        token, when, url = stamp
        assert url == authority.url and before <= when <= dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)
        # the oracle: OpenSSL verifies the stored token over the entry's chain hash bytes
        (tmp_path / "token.tsr").write_bytes(token)
        (tmp_path / "entry.bin").write_bytes(bytes.fromhex(h))
        res = subprocess.run(
            ["openssl", "ts", "-verify", "-data", "entry.bin", "-in", "token.tsr",
             "-CAfile", str(d / "tsa-ca.pem"), "-untrusted", str(d / "tsa.pem")],
            cwd=tmp_path, capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert res.returncode == 0 and "Verification: OK" in res.stdout, res.stdout + res.stderr
        assert verify_token(token, h, authority.roots) == []
    # another entry's hash, a changed token byte, another authority's roots: refused
    token = CARBON_REPORTS.timestamp_of(store, hashes[0])[0]  # type: ignore[index]
    assert verify_token(token, hashes[1], authority.roots) != []
    bad = bytearray(token)
    bad[-40] ^= 0x01  # inside the signature
    assert verify_token(bytes(bad), hashes[0], authority.roots) != []
    make_pki(tmp_path, "other")
    other = tuple(x509.load_pem_x509_certificates((tmp_path / "other-ca.pem").read_bytes()))
    assert verify_token(token, hashes[0], other) != []


def test_an_authority_that_is_down_leaves_entries_pending(
    store: Store, tiny_park: Park, tmp_path: Path, tsa: tuple[TimestampAuthority, Path]
) -> None:
    authority, _ = tsa
    (h,) = _issue(store, tiny_park, tmp_path, 1)
    down = TimestampAuthority("http://127.0.0.1:9/tsa", authority.roots, 1.0)
    stored, problems = CARBON_REPORTS.timestamp_pending(store, down)
    assert stored == 0 and len(problems) == 1 and "seq 1" in problems[0]
    assert CARBON_REPORTS.timestamp_of(store, h) is None
    with pytest.raises(TimestampError):
        request_token(down, h)
    assert CARBON_REPORTS.timestamp_pending(store, authority) == (1, [])  # the authority is back


def test_credentials_in_the_authority_url_are_never_stored_or_shown(
    store: Store, tiny_park: Park, tmp_path: Path, tsa: tuple[TimestampAuthority, Path]
) -> None:
    authority, _ = tsa
    secret = "TSA_PASSWORD_123"
    with_user = TimestampAuthority(authority.url.replace("http://", f"http://tsauser:{secret}@"), authority.roots, 10.0)
    (h,) = _issue(store, tiny_park, tmp_path, 1)
    down = TimestampAuthority(f"http://tsauser:{secret}@127.0.0.1:9/tsa", authority.roots, 1.0)
    stored, problems = CARBON_REPORTS.timestamp_pending(store, down)
    assert stored == 0 and problems and all(secret not in p and "tsauser" not in p for p in problems)
    assert "http://127.0.0.1:9/tsa" in problems[0]
    assert CARBON_REPORTS.timestamp_pending(store, with_user) == (1, [])  # stamped: the credentials were sent
    stamp = CARBON_REPORTS.timestamp_of(store, h)
    assert stamp is not None and stamp[2] == authority.url and secret not in stamp[2]
