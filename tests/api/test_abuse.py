"""Abusive clients over real HTTP (issue 14): key guessing is throttled per address, a trickled body
times out with 408 while the server keeps answering others."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from ems.park import Park
from ems.store import Store

from .conftest import Api, make_api


@pytest.fixture
def strict_api(store: Store, tiny_park: Park) -> Iterator[Api]:
    a = make_api(store, tiny_park, auth_failures_burst=5, auth_failures_per_min=30.0, body_timeout_s=1.0)
    yield a
    a.server.stop()


def test_failed_authentication_is_throttled_per_address(strict_api: Api) -> None:
    url = strict_api.url
    wrong = {"Authorization": "Bearer ems_abc_wrong"}
    with httpx.Client(base_url=url, timeout=10) as anon:
        codes = [anon.get("/v1/devices", headers=wrong).status_code for _ in range(7)]
        # 5 guesses are checked (401), then the address's bucket is empty: refused unchecked
        assert codes == [401] * 5 + [429] * 2
        r = anon.get("/v1/devices", headers=wrong)
        # a token comes back every 2 s (30/min): Retry-After is the whole seconds to wait
        assert r.status_code == 429 and r.headers["Retry-After"] == "2" and "failed authentications" in r.text
        # a valid key never verified from this address is refused too: no oracle while throttled
        fresh = {"Authorization": f"Bearer {strict_api.tokens['auditor']}"}
        assert anon.get("/v1/devices", headers=fresh).status_code == 429
        time.sleep(2.1)  # one token back
        assert anon.get("/v1/devices", headers=fresh).status_code == 200
        # successes spend nothing: the recovered token is still there for one more guess
        assert anon.get("/v1/devices", headers=wrong).status_code == 401
        assert anon.get("/v1/devices", headers=wrong).status_code == 429
    # another client address is unaffected (the server listens on 127.0.0.1; 127.0.0.2 is loopback too)
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(base_url=url, timeout=10, transport=transport) as other:
        assert other.get("/v1/devices", headers=wrong).status_code == 401
        assert other.get("/v1/devices", headers=fresh).status_code == 200


def _trickle(url: str, path: str, headers: dict[str, str], every_s: float) -> tuple[bytes, float]:
    """Send a request whose 1000-byte body arrives a byte every ``every_s``; the answer and when it came."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 1000\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        s.sendall(head.encode())
        t0 = time.monotonic()
        s.settimeout(every_s)
        answer = b""
        while time.monotonic() - t0 < 8:
            with contextlib.suppress(OSError):  # the server closed the connection after answering
                s.sendall(b"[")
            try:
                chunk = s.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if not chunk:
                break
            answer += chunk
        return answer, time.monotonic() - t0


@pytest.mark.parametrize("path,role", [("/v1/keys", "admin"), ("/v1/telemetry", "gateway")])
def test_trickled_body_times_out_while_healthz_answers(strict_api: Api, path: str, role: str) -> None:
    """A byte every 0.2 s: 408 after the configured 1 s, the connection closed, other clients served at once."""
    headers = {"Authorization": f"Bearer {strict_api.tokens[role]}", "Content-Type": "application/json"}
    result: list[tuple[bytes, float]] = []
    slow = threading.Thread(target=lambda: result.append(_trickle(strict_api.url, path, headers, 0.2)))
    slow.start()
    latencies = []
    with httpx.Client(base_url=strict_api.url, timeout=10) as c:
        while slow.is_alive():
            t = time.perf_counter()
            assert c.get("/healthz").status_code == 200
            latencies.append(time.perf_counter() - t)
            time.sleep(0.05)
    answer, took = result[0]
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"within 1 s" in answer and b"connection: close" in answer.lower()
    assert 0.9 < took < 8  # answered after the timeout (not at once, not when the body would have ended: 200 s)
    # other clients are served meanwhile (loose bounds: CI shares 2 cores between test workers)
    assert len(latencies) >= 3 and sorted(latencies)[len(latencies) // 2] < 0.5 and max(latencies) < 2.0
