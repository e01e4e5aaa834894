"""Per-host rate limits hold under load, across threads and across processes, on both databases."""

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from governor.outbound import OutboundClient, stats
from governor.storage.guard import check_schema
from tests.support.http_server import serve

REPO = Path(__file__).resolve().parents[2]
# The bucket admits a call when it takes the token; the server counts it when it arrives, a few
# milliseconds later, and that delay varies between calls (threads of the client and of the
# server share one interpreter here; on a busy 2-core machine the last calls of a burst have
# arrived 0.3 s late). Windows are measured this much shorter than the rate's. Tokens come in
# bursts of a full bucket, so a limiter that admitted too many would show it within one burst,
# tens of milliseconds wide: the shorter window loses nothing of the test's power.
DELIVERY_SLACK = 0.5
# Arrival times also depend on how busy the machine is: make test runs these tests alone.
pytestmark = pytest.mark.timing


@pytest.mark.slow
def test_many_calls_stay_under_the_limit_and_none_is_lost(
    database_url: str, configure, make_client
) -> None:
    limit, calls = 100, 500  # five seconds of calls at the limit
    configure(outbound_limits=f"127.0.0.1={limit}/s")
    client: OutboundClient = make_client()
    with serve(limit_per_second=limit) as server:
        with ThreadPoolExecutor(8) as pool:
            codes = list(
                pool.map(lambda i: client.get(f"{server.url}/n/{i}").status_code, range(calls))
            )
        assert codes == [200] * calls
        served = {item.path for item in server.received if item.status == 200}
        assert served == {f"/n/{i}" for i in range(calls)}
        assert server.most_in_window(1.0 - DELIVERY_SLACK) <= limit
    assert stats()["127.0.0.1"].calls == calls
    assert stats()["127.0.0.1"].throttled_ms > 0


def test_a_host_without_a_limit_is_not_throttled(configure, make_client) -> None:
    configure(outbound_limits="api.example.com=1/h")
    client: OutboundClient = make_client()
    with serve() as server:
        for _ in range(20):
            assert client.get(server.url).status_code == 200
    assert stats()["127.0.0.1"].throttled_ms == 0
    assert not Path("var").exists()  # no limited host was called: no bucket was made


@pytest.mark.slow
def test_two_processes_share_one_limit_through_the_database(database_url: str, configure) -> None:
    configure(outbound_limits="127.0.0.1=20/s")
    two_processes_stay_under(20)


@pytest.mark.slow
def test_two_processes_share_one_limit_through_redis_under_celery(
    broker_url: str, configure, tmp_path
) -> None:
    configure(outbound_limits="127.0.0.1=20/s", executor="celery",
              database_url=f"sqlite:///{tmp_path / 'unused.db'}")  # fmt: skip
    two_processes_stay_under(20)
    assert not (tmp_path / "var").exists()  # the limit lived in Redis, not beside the database


def two_processes_stay_under(limit: int, calls_each: int = 40) -> None:
    """Two processes call one limited host at once; the server never sees more than the limit."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    with serve(limit_per_second=limit) as server:
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.outbound.worker", f"{server.url}/p", str(calls_each)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env=env,
            )
            for _ in range(2)
        ]
        try:
            for worker in workers:
                assert worker.stdout is not None
                assert worker.stdout.readline().strip() == "ready"
            for worker in workers:
                assert worker.stdin is not None
                worker.stdin.write("go\n")
                worker.stdin.flush()
            outputs = [worker.communicate(timeout=60)[0] for worker in workers]
        finally:
            for worker in workers:
                worker.kill()
        assert [worker.returncode for worker in workers] == [0, 0]
        assert [int(out.strip()) for out in outputs] == [calls_each, calls_each]
        assert server.most_in_window(1.0 - DELIVERY_SLACK) <= limit


def test_limit_tables_leave_the_schema_guard_content(migrated, configure, make_client) -> None:
    configure(outbound_limits="127.0.0.1=10/s")
    client: OutboundClient = make_client()
    with serve() as server:
        assert client.get(server.url).status_code == 200
    assert check_schema(migrated).problems == []
