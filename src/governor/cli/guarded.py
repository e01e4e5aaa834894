"""The engine behind data commands: configured, task modules loaded, schema checked first."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


def guarded_engine() -> "Engine":
    """The configured engine, after the schema guard passed; SchemaDrift (exit 1) otherwise."""
    from governor import jobs
    from governor.config import get_settings
    from governor.storage.db import get_engine
    from governor.storage.guard import require_clean_schema
    from governor.tasks.registry import load_modules

    settings = get_settings()
    engine = get_engine()
    require_clean_schema(engine)
    jobs.load()
    load_modules(settings.task_modules)
    return engine
