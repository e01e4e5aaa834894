"""An audit's checks: small functions that each return pass or fail with a severity, the
evidence they looked at, the action they propose and the risk of leaving it. A check that
crashes, or cannot run because the schema lacks what it reads, fails: it never passes by
accident."""

import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from governor.config import Settings
from governor.storage.db import session_scope
from governor.storage.guard import SchemaReport

CRASH_SEVERITY = 7
"""A check that cannot say: a monitor that is off, nearly as bad as a failing one."""


@dataclass(frozen=True)
class CheckResult:
    """One check's verdict, written from the numbers it looked at."""

    name: str
    passed: bool
    severity: int
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)
    action: str = ""
    risk: str = ""
    hard: bool = False  # failing, it blocks execution whatever its severity

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AuditContext:
    """What every check may use: the database, the settings, the time and the schema's state."""

    engine: Engine
    settings: Settings
    now: datetime
    schema: SchemaReport
    window: timedelta

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only unit of work on the audited database."""
        with session_scope(self.engine, readonly=True) as session:
            yield session


Check = Callable[[AuditContext], CheckResult]


@dataclass(frozen=True)
class Registered:
    """A check, and the tables it reads (it cannot run while one of them has drifted)."""

    name: str
    run: Check
    needs: tuple[str, ...]
    canary: bool


CHECKS: dict[str, Registered] = {}


def check(
    name: str, *, needs: tuple[str, ...] = (), canary: bool = False
) -> Callable[[Check], Check]:
    """Register a check under `name`."""

    def register(run: Check) -> Check:
        CHECKS[name] = Registered(name, run, needs, canary)
        return run

    return register


def run_check(registered: Registered, context: AuditContext) -> CheckResult:
    """Run one check. A table it reads that is missing fails it without running; a crash (a
    drifted column it reads, say) fails it with the error and the schema's drift beside it."""
    name = registered.name
    missing = sorted({p.object for p in context.schema.problems if p.object in registered.needs})
    if missing:
        return CheckResult(
            name,
            False,
            CRASH_SEVERITY,
            f"{name} could not run: the database lacks the table(s) {', '.join(missing)}.",
            {"missing": missing},
            action="Repair the schema (governor db upgrade), then audit again.",
            risk="Until then this monitor is off.",
        )
    try:
        result = registered.run(context)
    except Exception as error:  # a crashing check must fail, never pass
        drift = [p.object for p in context.schema.problems]
        return CheckResult(
            name,
            False,
            CRASH_SEVERITY,
            f"{name} could not run: {type(error).__name__}: "
            f"{_first_line(error)}"
            + (f" (the schema has drifted: {', '.join(drift[:3])})" if drift else ""),
            {"error": type(error).__name__, "where": _last_frame(error), "drift": drift},
            action="Fix what the check reads (or the schema), then audit again.",
            risk="A monitor that stopped working is a silent failure.",
            hard=registered.canary,
        )
    return result


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [""])[0][:300]


def _last_frame(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    return f"{frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else ""
