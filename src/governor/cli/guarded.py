"""The engine behind data commands: configured, task modules loaded, schema checked first."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


def guarded_engine(*, readonly: bool = False) -> "Engine":
    """The configured engine, after the schema guard passed; SchemaDrift (exit 1) otherwise.

    A read-only diagnostic (`readonly=True`: gate status, alerts list, tasks list…) runs on a
    drifted database too, after one warning line on stderr: the operator must be able to see
    why the agents stopped. Commands that write or run agent work always refuse."""
    from governor import jobs
    from governor.config import get_settings
    from governor.storage.db import get_engine
    from governor.tasks.registry import load_modules

    settings = get_settings()
    engine = _diagnostics(get_engine()) if readonly else _checked(get_engine())
    jobs.load()
    load_modules(settings.task_modules)
    return engine


def _checked(engine: "Engine") -> "Engine":
    from governor.storage.guard import require_clean_schema

    require_clean_schema(engine)
    return engine


def _diagnostics(engine: "Engine") -> "Engine":
    """The engine for reading, with a warning on stderr when the schema drifted."""
    from governor.cli.output import errors
    from governor.storage.drifted import readable_engine
    from governor.storage.guard import check_schema, drift_error, headline

    report = check_schema(engine)
    if report.clean:
        return engine
    if any(p.kind == "not_initialised" for p in report.problems):
        raise drift_error(report)  # nothing to read
    errors.print(
        f"warning: the schema differs from this Governor's, {headline(report)}; showing what "
        "it holds, read-only. `governor db check` names the differences.",
        markup=False,
    )
    return readable_engine(engine, report)
