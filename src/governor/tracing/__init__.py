"""Every task is an OpenTelemetry trace: spans stored in task_spans, profiles per task type.

Names are loaded on first use, so importing `governor.tracing.context` (what handlers and the
executor need) does not pull in the SDK, the exporters and the instrumentations.
"""

import importlib
from typing import Any

_WHERE = {
    "current_task_id": "context", "span": "context", "task_trace": "context",
    "TaskSpanExporter": "exporter",
    "RepeatedQuery": "profiles", "SpanStat": "profiles", "TypeProfile": "profiles",
    "profile": "profiles",
    "configure_tracing": "setup", "force_flush": "setup", "shutdown_tracing": "setup",
}  # fmt: skip

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'governor.tracing' has no attribute {name!r}")
    return getattr(importlib.import_module(f"governor.tracing.{_WHERE[name]}"), name)
