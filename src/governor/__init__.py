"""Governor: the control plane of an autonomous AI business.

The API for agents' code: `@governor.task(...)` registers a handler, `governor.submit(...)`
records a task, `governor.record_llm_usage(...)` reports a model call of the running task,
`with governor.span("name"):` times a step of it and `governor.track(offer_id, step, ...)`
records a funnel step Stripe does not report (an offer viewed, a checkout started). Names load
on first use, so the command line starts fast.
"""

import importlib
from typing import Any

__version__ = "0.1.0"

_WHERE = {
    "task": "governor.tasks.registry",
    "record_llm_usage": "governor.tasks.usage",
    "span": "governor.tracing.context",
    "submit": "governor.tasks.api",
    "track": "governor.revenue.funnel",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'governor' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
