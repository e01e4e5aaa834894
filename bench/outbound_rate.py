"""Outbound calls under a shared per-host limit: throughput, worst 1 s window, cost of a token."""

import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import median_ms, report
from governor.config import get_settings
from governor.outbound import OutboundClient
from tests.support.http_server import serve

LIMIT, CALLS, THREADS = 100, 1000, 8


def configure(folder: Path, limits: str) -> None:
    """Point the settings at a SQLite database in `folder` with these outbound limits."""
    os.environ["GOVERNOR_DATABASE_URL"] = f"sqlite:///{folder / 'governor.db'}"
    os.environ["GOVERNOR_OUTBOUND_LIMITS"] = limits
    get_settings.cache_clear()


def main() -> None:
    """Print the figures as JSON lines."""
    with tempfile.TemporaryDirectory() as tmp, serve() as server:
        configure(Path(tmp), f"127.0.0.1={LIMIT}/s")
        with OutboundClient() as client, ThreadPoolExecutor(THREADS) as pool:
            start = time.perf_counter()
            codes = list(
                pool.map(lambda i: client.get(f"{server.url}/{i}").status_code, range(CALLS))
            )
            elapsed = time.perf_counter() - start
        assert codes == [200] * CALLS
        report("outbound calls/s under a shared SQLite limit", CALLS / elapsed, "calls/s",
               "configured limit", LIMIT, calls=CALLS, threads=THREADS)  # fmt: skip
        report("most calls the server saw in 1 s", server.most_in_window(1.0), "calls",
               "configured limit", LIMIT)  # fmt: skip

        url = f"{server.url}/one"
        configure(Path(tmp), "127.0.0.1=1000000/s")
        with OutboundClient() as limited:
            with_token = median_ms(lambda: limited.get(url), runs=300)
        configure(Path(tmp), "")
        with OutboundClient() as unlimited:
            without = median_ms(lambda: unlimited.get(url), runs=300)
        report("one call with a shared token (SQLite)", with_token, "ms",
               "one call, host unlimited", without)  # fmt: skip


if __name__ == "__main__":
    main()
