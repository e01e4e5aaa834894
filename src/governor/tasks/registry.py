"""Task handlers by type: the `@task` decorator, and loading the agents' modules."""

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from governor.errors import BadInput, ConfigError

Handler = Callable[..., Any]


@dataclass(frozen=True)
class TaskSpec:
    """How one task type runs: its handler and limits."""

    type: str
    handler: Handler
    kind: str = "agent"
    max_attempts: int = 3
    timeout: float | None = 600.0
    concurrency: int | None = None
    backoff: float = 1.0

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.handler)


_registry: dict[str, TaskSpec] = {}


def register(spec: TaskSpec) -> TaskSpec:
    """Add a handler; the same type may be registered again only by the same function."""
    if spec.max_attempts < 1:
        raise BadInput(f"{spec.type}: max_attempts must be at least 1, not {spec.max_attempts}.")
    if spec.timeout is not None and spec.timeout <= 0:
        raise BadInput(f"{spec.type}: timeout must be positive, not {spec.timeout}.")
    if spec.concurrency is not None and spec.concurrency < 1:
        raise BadInput(f"{spec.type}: concurrency must be at least 1, not {spec.concurrency}.")
    _registry[spec.type] = spec
    return spec


def task(
    type: str,
    *,
    max_attempts: int = 3,
    timeout: float | None = 600.0,
    concurrency: int | None = None,
    backoff: float = 1.0,
    kind: str = "agent",
) -> Callable[[Handler], Handler]:
    """Register the decorated function (sync or async) as the handler of a task type."""

    def decorate(handler: Handler) -> Handler:
        register(TaskSpec(type, handler, kind, max_attempts, timeout, concurrency, backoff))
        return handler

    return decorate


def get(type: str) -> TaskSpec:
    """The spec of a type; BadInput naming the known types when there is none."""
    spec = _registry.get(type)
    if spec is None:
        modules = _configured_modules()
        spec = _registry.get(type)
        if spec is None:
            raise BadInput(f"Unknown task type '{type}'.", hint=_unknown_hint(modules))
    return spec


def _unknown_hint(modules: str) -> str:
    """What to do about an unknown type, given the modules already configured."""
    known = ", ".join(sorted(_registry)) or "none"
    if not modules.strip():
        return f"Known types: {known}. Set GOVERNOR_TASK_MODULES to the modules that define yours."
    return (f"Known types: {known}. Define it with @governor.task in one of "
            f"GOVERNOR_TASK_MODULES ({modules}), or check its spelling.")  # fmt: skip


def known() -> dict[str, TaskSpec]:
    """Every registered type (the configured modules loaded first)."""
    _configured_modules()
    return dict(_registry)


def unregister(type: str) -> None:
    """Forget a type (tests)."""
    _registry.pop(type, None)


_loaded: set[str] = set()  # GOVERNOR_TASK_MODULES values already imported


def _configured_modules() -> str:
    """Import GOVERNOR_TASK_MODULES once, when the registry is first needed; return its value.

    Agents' scripts call `governor.submit` with no command line to load them beforehand.
    """
    from governor.config import get_settings

    names = get_settings().task_modules
    if names not in _loaded:
        load_modules(names)
        _loaded.add(names)
    return names


def load_modules(names: str) -> None:
    """Import the comma-separated modules that define handlers (GOVERNOR_TASK_MODULES)."""
    for name in filter(None, (part.strip() for part in names.split(","))):
        try:
            importlib.import_module(name)
        except ImportError as error:
            raise ConfigError(
                f"GOVERNOR_TASK_MODULES names '{name}', which cannot be imported: {error}",
                hint="Give importable module names, comma-separated, e.g. my_agents.tasks.",
            ) from None
