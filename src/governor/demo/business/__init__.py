"""The demo business: a deterministic history (history.py, from plan.py), bulk rows for
benchmarks (scale.py), and the live business for `serve --demo` (live.py, handlers.py).

Names load on first use: importing `live` registers the demo's task handlers.
"""

import importlib
from typing import Any

_WHERE = {
    "populate": "governor.demo.business.history",
    "ensure_demo": "governor.demo.business.history",
    "is_demo": "governor.demo.business.history",
    "Summary": "governor.demo.business.history",
    "DatabaseNotEmpty": "governor.demo.business.history",
    "populate_scale": "governor.demo.business.scale",
    "LiveBusiness": "governor.demo.business.live",
    "live_stand_in": "governor.demo.business.live",
    "demo_environment": "governor.demo.business.live",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'governor.demo.business' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
