"""Parallelism and scheduling cost of the embedded executor on SQLite.

1,000 independent tasks that each wait 100 ms on I/O at concurrency 100 (ideal: 1.0 s), and a
10,000-task graph with random dependencies against 10,000 independent tasks (the baseline).
"""

import argparse
import random
import tempfile
from pathlib import Path

import bench_tasks  # noqa: F401  (registers the handlers)
from common import report, run_embedded
from governor.storage.db import create_engine, session_scope
from governor.storage.migrate import migrate
from governor.tasks import service


def database(folder: Path, name: str):  # type: ignore[no-untyped-def]
    engine = create_engine(f"sqlite:///{folder / name}")
    migrate(engine, "upgrade", "head", backup=False)
    return engine


def run(engine, concurrency: int) -> float:  # type: ignore[no-untyped-def]
    elapsed = run_embedded(engine, concurrency)
    with session_scope(engine, readonly=True) as session:
        counts = service.counts_by_status(session)
    assert set(counts) == {"succeeded"}, counts
    return elapsed


def submit_graph(engine, tasks: int, max_parents: int, seed: int) -> int:  # type: ignore[no-untyped-def]
    """Tasks in order, each after up to `max_parents` random earlier ones; return the edges."""
    rng = random.Random(seed)
    ids: list[str] = []
    edges = 0
    with session_scope(engine) as session:
        for _ in range(tasks):
            parents = rng.sample(ids, min(len(ids), rng.randint(0, max_parents))) if ids else []
            ids.append(service.submit(session, "bench.noop", after=parents))
            edges += len(parents)
    return edges


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--io-tasks", type=int, default=1000)
    parser.add_argument("--graph-tasks", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        io_walls = []
        for n in range(args.runs):
            engine = database(folder, f"io{n}.db")
            with session_scope(engine) as session:
                for _ in range(args.io_tasks):
                    service.submit(session, "bench.io_wait")
            io_walls.append(run(engine, concurrency=100))
        ideal = args.io_tasks / 100 * 0.1
        report("io_bound_wall_s", sorted(io_walls)[len(io_walls) // 2], "s", "ideal_wall_s", ideal,
               tasks=args.io_tasks, concurrency=100, goal_s=1.2 * ideal / 1.0)  # fmt: skip

        flat = database(folder, "flat.db")
        submit_graph(flat, args.graph_tasks, max_parents=0, seed=1)
        flat_s = run(flat, concurrency=16)
        graph = database(folder, "graph.db")
        edges = submit_graph(graph, args.graph_tasks, max_parents=3, seed=1)
        graph_s = run(graph, concurrency=16)
        report("graph_ms_per_task", graph_s / args.graph_tasks * 1000, "ms",
               "independent_ms_per_task", flat_s / args.graph_tasks * 1000,
               tasks=args.graph_tasks, edges=edges, goal_ms=1.0)  # fmt: skip


if __name__ == "__main__":
    main()
