"""Signed Stripe events posted to a real `governor serve` on SQLite: events/s and latency,
beside the same server answering a bare GET /healthz, and a count that proves none was lost."""

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from common import ROOT, report
from governor.demo.stripe_server import sign
from tests.support.ports import free_port

SECRET = "whsec_bench"


def event(n: int) -> bytes:
    """A charge.succeeded event as Stripe sends it (unique id per n)."""
    charge = {"id": f"ch_bench{n:08d}", "object": "charge", "amount": 1000 + n % 500,
              "amount_captured": 1000 + n % 500, "captured": True, "currency": "usd",
              "created": 1_767_225_600 + n, "status": "succeeded", "balance_transaction": None,
              "metadata": {"order_id": f"ord_{n}"}, "refunds": None}  # fmt: skip
    body = {"id": f"evt_bench{n:08d}", "object": "event", "api_version": "2024-06-20",
            "created": 1_767_225_600 + n, "livemode": False, "type": "charge.succeeded",
            "data": {"object": charge}, "pending_webhooks": 1, "request": None}  # fmt: skip
    return json.dumps(body).encode()


def requests_for(count: int, port: int, post: bool) -> list[bytes]:
    """Raw HTTP/1.1 requests, built (and signed) before the clock starts."""
    if not post:
        line = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
        return [line] * count
    now = int(time.time())
    built = []
    for n in range(count):
        body = event(n)
        head = (f"POST /webhooks/stripe HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                f"Stripe-Signature: {sign(body, SECRET, now)}\r\n\r\n")  # fmt: skip
        built.append(head.encode() + body)
    return built


async def _connection(port: int, queue: list[bytes], latencies: list[float],
                      statuses: list[int], deadline: float) -> None:  # fmt: skip
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    while queue and time.perf_counter() < deadline:
        request = queue.pop()
        start = time.perf_counter()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
        latencies.append((time.perf_counter() - start) * 1000)
        statuses.append(int(head.split(b" ", 2)[1]))
    writer.close()


def load(port: int, requests: list[bytes], connections: int, max_s: float) -> dict[str, float]:
    """Send every request over `connections` keep-alive connections; rate and latency."""
    queue = list(reversed(requests))
    latencies: list[float] = []
    statuses: list[int] = []

    async def run() -> float:
        start = time.perf_counter()
        deadline = start + max_s
        await asyncio.gather(*(_connection(port, queue, latencies, statuses, deadline)
                               for _ in range(connections)))  # fmt: skip
        return time.perf_counter() - start

    elapsed = asyncio.run(run())
    ordered = sorted(latencies)
    return {"per_s": len(latencies) / elapsed, "p50_ms": statistics.median(ordered),
            "p99_ms": ordered[int(len(ordered) * 0.99) - 1], "sent": len(latencies),
            "ok": sum(s == 200 for s in statuses), "seconds": elapsed}  # fmt: skip


def serve(folder: Path, port: int) -> subprocess.Popen[bytes]:
    env = {"GOVERNOR_DATABASE_URL": f"sqlite:///{folder / 'governor.db'}",
           "GOVERNOR_STRIPE_WEBHOOK_SECRETS": SECRET, "GOVERNOR_BACKUP_DIR": str(folder),
           "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}  # fmt: skip
    governor = [sys.executable, "-m", "governor"]
    subprocess.run([*governor, "db", "upgrade"], env=env, check=True, capture_output=True)
    log = (folder / "serve.log").open("wb")
    process = subprocess.Popen([*governor, "serve", "--port", str(port)], env=env,
                               stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return process
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"governor serve did not start: {(folder / 'serve.log').read_text()}")


def count_events(folder: Path) -> tuple[int, int]:
    import sqlite3

    with sqlite3.connect(folder / "governor.db") as db:
        stored = db.execute("SELECT count(*) FROM stripe_events").fetchone()[0]
        handled = db.execute(
            "SELECT count(*) FROM stripe_events WHERE handled_at IS NOT NULL"
        ).fetchone()[0]
    return stored, handled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--max-seconds", type=float, default=30.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder, port = Path(tmp), free_port()
        process = serve(folder, port)
        try:
            load(port, requests_for(500, port, post=False), args.connections, 10)  # warm-up
            health = load(port, requests_for(args.events, port, post=False), args.connections,
                          args.max_seconds)  # fmt: skip
            posts = requests_for(args.events, port, post=True)
            ingest = load(port, posts, args.connections, args.max_seconds)
            stored, _ = count_events(folder)
            drained_at = time.perf_counter()
            while count_events(folder)[1] < stored and time.perf_counter() - drained_at < 120:
                time.sleep(0.2)
            handled = count_events(folder)[1]
            drain_s = time.perf_counter() - drained_at
        finally:
            process.terminate()
            process.wait(timeout=20)
    common = {"connections": args.connections, "goal": ">= 1000 events/s, p99 <= 50 ms"}
    report("webhook_ingest_events_per_s", ingest["per_s"], "events/s", "healthz_requests_per_s",
           health["per_s"], sent=ingest["sent"], answered_200=ingest["ok"], stored=stored,
           lost=ingest["ok"] - stored, **common)  # fmt: skip
    report("webhook_ingest_p50_ms", ingest["p50_ms"], "ms", "healthz_p50_ms", health["p50_ms"],
           **common)  # fmt: skip
    report("webhook_ingest_p99_ms", ingest["p99_ms"], "ms", "healthz_p99_ms", health["p99_ms"],
           **common)  # fmt: skip
    report("webhook_events_handled_after_ingest_s", drain_s, "s", "ingest_s", ingest["seconds"],
           handled=handled, stored=stored)  # fmt: skip


if __name__ == "__main__":
    main()
