"""What tracing costs a task that makes 100 SQL queries: the same tasks with and without spans."""

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

import governor
from common import report
from governor.models import ExecutionTask
from governor.storage.db import create_engine, session_scope
from governor.storage.migrate import migrate
from governor.tasks import service
from governor.tasks.embedded import EmbeddedExecutor
from governor.tracing import configure_tracing, force_flush, shutdown_tracing

QUERIES = 100
ENGINE: list[sa.Engine] = []


@governor.task("bench.hundred_queries", max_attempts=1)
def hundred_queries(ctx):
    """100 small queries by primary key, as a handler reading its ideas and offers would."""
    with session_scope(ENGINE[0], readonly=True) as session:
        for n in range(QUERIES):
            session.execute(sa.text("SELECT id, status FROM execution_tasks WHERE id = :id"),
                            {"id": f"task_{n}"}).first()  # fmt: skip


def run(folder: Path, name: str, tasks: int, traced: bool) -> tuple[float, float]:
    """Per task, run one at a time: the median recorded duration and the wall time (ms)."""
    engine = create_engine(f"sqlite:///{folder / name}")
    migrate(engine, "upgrade", "head", backup=False)
    ENGINE[:] = [engine]
    with session_scope(engine) as session:
        for _ in range(tasks):
            service.submit(session, "bench.hundred_queries")
    if traced:
        configure_tracing(engine)
    executor = EmbeddedExecutor(engine, concurrency=1)
    start = time.perf_counter()
    asyncio.run(executor.run_until_idle())
    elapsed = time.perf_counter() - start
    executor.close()
    if traced:
        force_flush()  # spans are written off the hot path; count the writing too
        elapsed = time.perf_counter() - start
        shutdown_tracing()
    with session_scope(engine, readonly=True) as session:
        rows = session.execute(sa.select(ExecutionTask.started_at, ExecutionTask.finished_at))
        durations = [(end - start).total_seconds() * 1000 for start, end in rows]
    engine.dispose()
    return statistics.median(durations), elapsed / tasks * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    plain, traced = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(args.runs):  # alternate, so that drift in the machine hits both alike
            plain.append(run(Path(tmp), f"plain{n}.db", args.tasks, traced=False))
            traced.append(run(Path(tmp), f"traced{n}.db", args.tasks, traced=True))
    # task_duration: the handler's own time, from the task's started_at to finished_at;
    # wall_per_task: the whole run divided by the tasks, exporting the spans included.
    for index, figure in ((0, "task_duration"), (1, "wall_per_task")):
        with_spans = statistics.median(r[index] for r in traced)
        without = statistics.median(r[index] for r in plain)
        report(f"{figure}_with_spans_ms", with_spans, "ms", f"{figure}_without_spans_ms",
               without, queries_per_task=QUERIES, goal_pct=10,
               overhead_pct=round((with_spans / without - 1) * 100, 1))  # fmt: skip


if __name__ == "__main__":
    main()
