"""Outbox delivery rate: messages queued in PostgreSQL and delivered to a local webhook receiver,
against the same messages POSTed directly (no outbox) in the same run.

    python benchmarks/outbox.py [--quick]

Timed: queueing N WeCom text messages (one transaction each, as alerts are queued) and one
``deliver_due`` pass that claims, sends and records each in its own transaction. Baseline: the same
N bodies POSTed with httpx to the same receiver. The ratio is the price of durability per message.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import database_url, emit
from ems.outbox import Receivers, deliver_due, enqueue, senders
from ems.outbox.robots import text_body
from ems.park import example_park_path, load_park
from ems.store import Store


class _Ok(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b'{"errcode":0,"errmsg":"ok"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    n = 200 if ap.parse_args().quick else 2000
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/cgi-bin/webhook/send?key=bench"
    bodies = [text_body(f"[警告 warning] bench #{i} device_stale\ndevice PV{i}: never reported") for i in range(n)]

    t = time.perf_counter()
    with httpx.Client() as c:
        for b in bodies:
            c.post(url, content=b.encode(), headers={"Content-Type": "application/json"}).raise_for_status()
    direct_s = time.perf_counter() - t

    with database_url("postgresql") as db, Store.connect(db, load_park(example_park_path("tiny"))) as store:
        t = time.perf_counter()
        for i, b in enumerate(bodies):
            enqueue(store, "wecom", f"bench:{i}", b)
        queued_s = time.perf_counter() - t
        t = time.perf_counter()
        report = deliver_due(store, senders(Receivers(wecom_url=url)), dt.datetime.now(dt.UTC), limit=n)
        deliver_s = time.perf_counter() - t
    server.shutdown()
    assert len(report.delivered) == n and report.pending == 0, report
    outbox_s = queued_s + deliver_s
    print(
        f"{n} messages: direct POST {n / direct_s:,.0f}/s; outbox queue {n / queued_s:,.0f}/s, "
        f"deliver {n / deliver_s:,.0f}/s, end to end {n / outbox_s:,.0f}/s ({outbox_s / direct_s:.1f}x the direct time)"
    )
    emit(
        {
            "messages": n,
            "direct_msgs_per_s": round(n / direct_s, 1),
            "outbox_queue_msgs_per_s": round(n / queued_s, 1),
            "outbox_deliver_msgs_per_s": round(n / deliver_s, 1),
            "outbox_over_direct_time_ratio": round(outbox_s / direct_s, 2),
        }
    )


if __name__ == "__main__":
    main()
