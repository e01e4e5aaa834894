"""How long `db check` and the guard at start take with 1,000,000 tasks, beside a SELECT 1."""

import argparse

import sqlalchemy as sa

from common import each_database, median_ms, report
from governor.storage.db import create_engine
from governor.storage.guard import check_schema
from governor.storage.migrate import migrate

FILL = {
    "sqlite": """
        WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < :rows)
        INSERT INTO execution_tasks (id, kind, type, status, attempts, max_attempts, created_at,
                                     tokens_in, tokens_out, ai_model)
        SELECT printf('task_%010d', n), 'agent', 'implement_idea', 'succeeded', 1, 1,
               '2026-11-01 00:00:00.000000', 1000, 200, 'gpt-4o-mini' FROM seq
    """,
    "postgresql": """
        INSERT INTO execution_tasks (id, kind, type, status, attempts, max_attempts, created_at,
                                     tokens_in, tokens_out, ai_model)
        SELECT 'task_' || lpad(n::text, 10, '0'), 'agent', 'implement_idea', 'succeeded', 1, 1,
               now(), 1000, 200, 'gpt-4o-mini' FROM generate_series(1, :rows) AS n
    """,
}


def measure(kind: str, url: str, rows: int, runs: int) -> None:
    engine = create_engine(url)
    migrate(engine, "upgrade", "head", backup=False)
    empty_ms = median_ms(lambda: check_schema(engine), runs)
    with engine.begin() as conn:
        conn.execute(sa.text(FILL[kind]), {"rows": rows})
    with engine.connect() as conn:
        counted = conn.scalar(sa.text("SELECT count(*) FROM execution_tasks"))
        if kind == "postgresql":
            conn.execute(sa.text("ANALYZE"))
    assert check_schema(engine).clean

    def select_one() -> None:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1")).scalar()

    def guard_at_start() -> None:  # a new process's first check: a new engine, new connections
        fresh = create_engine(url)
        assert check_schema(fresh).clean
        fresh.dispose()

    baseline = median_ms(select_one, runs)
    common = {"database": kind, "rows": counted, "runs": runs, "goal_ms": 200,
              "db_check_ms_with_0_rows": round(empty_ms, 3)}  # fmt: skip
    report("db_check_ms", median_ms(lambda: check_schema(engine), runs), "ms",
           "select_1_ms", baseline, **common)  # fmt: skip
    report("guard_at_start_ms", median_ms(guard_at_start, runs), "ms",
           "select_1_ms", baseline, **common)  # fmt: skip
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    for kind, url in each_database():
        measure(kind, url, args.rows, args.runs)


if __name__ == "__main__":
    main()
