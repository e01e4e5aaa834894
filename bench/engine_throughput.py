"""10,000 no-op tasks: embedded on SQLite, Governor on Celery+Redis, and bare Celery (baseline)."""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis
import sqlalchemy as sa

import bench_tasks  # noqa: F401  (registers the handlers in this process)
from common import ROOT, report, run_embedded
from governor.config import get_settings
from governor.models import ExecutionTask
from governor.storage.db import create_engine, session_scope
from governor.storage.migrate import migrate
from governor.tasks import service
from governor.tasks.dispatcher import Dispatcher
from tests.support.postgres import PostgresServer, find_bin_dir
from tests.support.redis import RedisServer, find_redis

HERE = Path(__file__).parent
CONCURRENCY = 16


def fresh_database(url: str, tasks: int) -> str:
    engine = create_engine(url)
    migrate(engine, "upgrade", "head", backup=False)
    with session_scope(engine) as session:
        for _ in range(tasks):
            service.submit(session, "bench.noop")
    engine.dispose()
    return url


def embedded(url: str) -> float:
    return run_embedded(create_engine(url), CONCURRENCY)


def env_for(url: str, broker: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{HERE}",
            "GOVERNOR_DATABASE_URL": url, "GOVERNOR_BROKER_URL": broker,
            "GOVERNOR_EXECUTOR": "celery", "GOVERNOR_TASK_MODULES": "bench_tasks",
            "BARE_BROKER_URL": broker}  # fmt: skip


def workers(
    command: list[str], env: dict[str, str], count: int = 2
) -> list[subprocess.Popen[bytes]]:
    log = open(os.environ.get("BENCH_WORKER_LOG", os.devnull), "ab")  # noqa: SIM115
    return [subprocess.Popen(command, env=env, stdout=log, stderr=log, cwd=HERE)
            for _ in range(count)]  # fmt: skip


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for p in processes:
        p.terminate()
    for p in processes:
        p.wait(timeout=30)


def governor_on_celery(url: str, broker: str, tasks: int) -> float:
    env = env_for(url, broker)
    os.environ.update({k: v for k, v in env.items() if k.startswith("GOVERNOR_")})
    get_settings.cache_clear()
    command = [sys.executable, "-m", "governor", "worker", "-c", str(CONCURRENCY)]
    procs = workers(command, env)
    engine = create_engine(url)
    try:
        time.sleep(3)  # let both workers connect before the clock starts
        dispatcher = Dispatcher(engine)
        start = time.perf_counter()
        done = 0
        while done < tasks:
            if dispatcher.dispatch_once():
                continue
            time.sleep(0.05)
            with engine.connect() as conn:
                query = sa.select(sa.func.count()).where(ExecutionTask.status == "succeeded")
                done = conn.scalar(query)
        return time.perf_counter() - start
    finally:
        stop(procs)
        engine.dispose()


def bare_celery(broker: str, tasks: int) -> float:
    env = env_for("sqlite:///unused.db", broker)
    command = [sys.executable, "-m", "celery", "-A", "bare_celery", "worker", "--pool=threads",
               f"--concurrency={CONCURRENCY}", "--without-gossip", "--without-mingle",
               "--loglevel=WARNING"]  # fmt: skip
    os.environ["BARE_BROKER_URL"] = broker
    import bare_celery as bare

    procs = workers(command, env)
    counter = redis.Redis.from_url(broker)
    try:
        time.sleep(3)
        start = time.perf_counter()
        for _ in range(tasks):
            bare.noop.delay()
        while int(counter.get("bare:done") or 0) < tasks:
            time.sleep(0.01)
        return time.perf_counter() - start
    finally:
        stop(procs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=10_000)
    args = parser.parse_args()
    n = args.tasks
    binary = find_redis()
    if binary is None:
        sys.exit("redis-server not found: run scripts/install-services")
    server = RedisServer(binary)
    postgres = PostgresServer(find_bin_dir()).start()  # workers on many machines share PostgreSQL
    with tempfile.TemporaryDirectory() as tmp:
        try:
            bare_s = bare_celery(server.url(1), n)
            embedded_s = embedded(fresh_database(f"sqlite:///{Path(tmp) / 'embedded.db'}", n))
            celery_url = fresh_database(postgres.create_database("celery"), n)
            celery_s = governor_on_celery(celery_url, server.url(2), n)
        finally:
            server.stop()
            postgres.stop()
    baseline = n / bare_s
    report("embedded_sqlite_tasks_per_s", n / embedded_s, "tasks/s", "bare_celery_tasks_per_s",
           baseline, tasks=n, overhead_ms_per_task=round(embedded_s / n * 1000, 3),
           goal="at least bare Celery")  # fmt: skip
    report("governor_celery_tasks_per_s", n / celery_s, "tasks/s", "bare_celery_tasks_per_s",
           baseline, tasks=n, overhead_ms_per_task=round(celery_s / n * 1000, 3),
           slowdown=round(celery_s / bare_s, 2), goal="within 1.5x of bare Celery")  # fmt: skip


if __name__ == "__main__":
    main()
