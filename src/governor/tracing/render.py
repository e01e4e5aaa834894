"""Rich tables of task-type profiles for the CLI (the numbers come from tracing.profiles)."""

from rich.table import Table

from governor.tracing.profiles import TypeProfile


def profile_tables(profiles: list[TypeProfile]) -> list[Table]:
    """A summary table of every type, then one table of slow spans and N+1 queries per type."""
    tables = [summary_table(profiles)]
    tables += [detail_table(p) for p in profiles if p.slowest or p.repeated_queries]
    return tables


def summary_table(profiles: list[TypeProfile]) -> Table:
    """One row per task type: durations, where the time goes, the bottleneck."""
    table = Table(title="Task types", title_justify="left")
    for column in ("type", "count", "p50 ms", "p95 ms", "max ms"):
        table.add_column(column, justify="left" if column == "type" else "right")
    for column in ("db", "http", "llm", "own", "× others"):  # noqa: RUF001
        table.add_column(column, justify="right")
    table.add_column("bottleneck")
    for p in profiles:
        shares = [
            f"{p.shares[k]:.0%}" if k in p.shares else "-" for k in ("db", "http", "llm", "own")
        ]
        ratio = f"{p.relative_to_others:.1f}×" if p.relative_to_others is not None else "-"  # noqa: RUF001
        table.add_row(
            p.task_type, str(p.count), f"{p.p50_ms:.0f}", f"{p.p95_ms:.0f}", f"{p.max_ms:.0f}",
            *shares, ratio, p.bottleneck or "-",
        )  # fmt: skip
    return table


def detail_table(p: TypeProfile) -> Table:
    """The slowest spans and the repeated queries of one task type."""
    table = Table(title=f"{p.task_type}: where the time goes", title_justify="left")
    table.add_column("kind")
    table.add_column("span")
    table.add_column("count", justify="right")
    table.add_column("total ms", justify="right")
    table.add_column("share", justify="right")
    for s in p.slowest:
        table.add_row(s.kind, s.name, str(s.count), f"{s.total_ms:.0f}", f"{s.share:.0%}")
    for r in p.repeated_queries:
        table.add_row(
            "N+1", f"{r.statement} ({r.per_task}× per task, {r.tasks} tasks)",  # noqa: RUF001
            str(r.per_task * r.tasks), f"{r.total_ms:.0f}", f"{r.share:.0%}",
        )  # fmt: skip
    return table
