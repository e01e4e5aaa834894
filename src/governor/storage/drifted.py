"""Reading a drifted database: columns it lacks read as None; a read the drift breaks says so."""

from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine, ExceptionContext
from sqlalchemy.orm import ORMExecuteState, QueryContext, Session, defer
from sqlalchemy.orm.attributes import set_committed_value

from governor.errors import SchemaDrift
from governor.models import Base
from governor.storage.faults import database_fault
from governor.storage.guard import SchemaReport, headline

MISSING = "governor_missing_columns"
"""Execution option: the `table.column`s the database lacks, which ORM reads leave out."""


def readable_engine(engine: Engine, report: SchemaReport) -> Engine:
    """The engine for read-only diagnostics on a drifted database: ORM reads leave out the
    columns the database lacks (they read as None), and a read the drift still breaks raises
    SchemaDrift naming it instead of a driver error."""
    missing = frozenset(p.object for p in report.problems if p.kind == "missing_column")
    bind = engine.execution_options(**{MISSING: missing})
    event.listen(bind, "handle_error", partial(_explain, report))
    if not event.contains(Session, "do_orm_execute", _leave_out_missing):
        event.listen(Session, "do_orm_execute", _leave_out_missing)
        event.listen(Base, "load", _none_for_missing, propagate=True)
    return bind


def _missing_keys(session: Session, mapper: Any) -> list[str]:
    """The attributes of a mapped class whose columns the session's database lacks."""
    bind = session.bind  # not get_bind(): it raises for a session bound otherwise
    missing = bind.get_execution_options().get(MISSING) if isinstance(bind, Engine) else None
    if not missing:
        return []
    return [prop.key for prop in mapper.column_attrs
            if any(f"{c.table.name}.{c.name}" in missing for c in prop.columns)]  # fmt: skip


def _leave_out_missing(state: ORMExecuteState) -> None:
    """Defer, in every ORM select, the columns the database lacks."""
    if not state.is_select or state.is_column_load:
        return
    options = [
        defer(getattr(mapper.class_, key))
        for mapper in state.all_mappers
        for key in _missing_keys(state.session, mapper)
    ]
    if options:
        state.statement = state.statement.options(*options)


def _none_for_missing(target: Any, context: QueryContext) -> None:
    """Give a loaded object None for what the database lacks, so reading it loads nothing."""
    for key in _missing_keys(context.session, sa.inspect(target).mapper):
        set_committed_value(target, key, None)


def _explain(report: SchemaReport, context: ExceptionContext) -> None:
    """A read that fails on what drifted: SchemaDrift naming it, not the driver's error."""
    error = context.sqlalchemy_exception
    if error is None or context.engine is None:
        return
    if database_fault(error, context.engine) is not None:
        return  # read-only, full, gone: explained as such by the unit of work
    if isinstance(error, sa.exc.ProgrammingError | sa.exc.OperationalError):
        raise SchemaDrift(
            f"This command reads what the schema drift changed "
            f"({str(context.original_exception).splitlines()[0]}): {headline(report)}.",
            hint="`governor db check` names every difference; `governor db repair` puts back "
            "changes made by hand, `governor db upgrade` applies pending migrations.",
        ) from context.original_exception
