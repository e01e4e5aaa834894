"""A fulfilment provider stand-in on loopback: effects counted per Idempotency-Key, 429s past a
rate, random 500s, a slow mode and a 422 for a missing address; GET /effects shows the counts."""

import asyncio
import math
import random
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from governor.demo.background_server import BackgroundServer


@dataclass
class ProviderBehaviour:
    """How the provider answers; fields may change while it runs."""

    rate_per_second: int | None = None  # more admitted calls than this in 1 s: 429
    failure_rate: float = 0.0  # chance of a 500 (before any effect)
    latency_s: float = 0.0  # pause after the effect, before the answer (slow mode)
    require_address: bool = False  # a body without customer.address: 422 naming it
    seed: int = 0


@dataclass
class ProviderState:
    """What the provider did: the first answer and the effect count of every key."""

    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    effects: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    throttled: int = 0
    failed: int = 0
    replayed: int = 0
    admitted: deque[float] = field(default_factory=deque)  # times of calls within the last 1 s


def create_provider_app(behaviour: ProviderBehaviour) -> Starlette:
    """The provider as an ASGI app (one event loop: no lock needed between check and effect)."""
    state = ProviderState()
    rng = random.Random(behaviour.seed)

    def too_fast(now: float) -> float | None:
        """Seconds until a call would be admitted, or None (and the call counted) if now."""
        window = state.admitted
        while window and window[0] <= now - 1.0:
            window.popleft()
        limit = behaviour.rate_per_second
        if limit is not None and len(window) >= limit:
            return window[0] + 1.0 - now
        window.append(now)
        return None

    async def act(request: Request) -> JSONResponse:
        state.requests += 1
        key = request.headers.get("idempotency-key")
        if not key:
            return JSONResponse({"error": {"message": "Idempotency-Key is required"}}, 400)
        if key in state.results:  # a repeated key: the first answer, no second effect
            state.replayed += 1
            return JSONResponse(state.results[key], headers={"Idempotent-Replayed": "true"})
        wait = too_fast(time.monotonic())
        if wait is not None:
            state.throttled += 1
            limit = behaviour.rate_per_second
            headers = {"Retry-After": str(max(1, math.ceil(wait))),
                       "RateLimit-Limit": str(limit), "RateLimit-Remaining": "0",
                       "RateLimit-Reset": f"{wait:.3f}"}  # fmt: skip
            return JSONResponse({"error": {"message": "rate limited"}}, 429, headers=headers)
        if rng.random() < behaviour.failure_rate:
            state.failed += 1
            return JSONResponse({"error": {"message": "provider error"}}, 500)
        body = await request.json()
        if behaviour.require_address and not (body.get("customer") or {}).get("address"):
            error = {"field": "address", "message": "the shipping address is missing"}
            return JSONResponse({"error": error}, 422)
        state.effects[key] = state.effects.get(key, 0) + 1
        result = {"id": f"eff_{len(state.results) + 1}", "key": key,
                  "path": request.url.path, "order_id": body.get("order_id")}  # fmt: skip
        state.results[key] = result
        if behaviour.latency_s:
            await asyncio.sleep(behaviour.latency_s)
        return JSONResponse(result)

    async def effects(request: Request) -> JSONResponse:
        return JSONResponse({"effects": state.effects, "requests": state.requests,
                             "throttled": state.throttled, "failed": state.failed,
                             "replayed": state.replayed})  # fmt: skip

    return Starlette(routes=[Route("/effects", effects, methods=["GET"]),
                             Route("/{path:path}", act, methods=["POST"])])  # fmt: skip


class ProviderServer(BackgroundServer):
    """`with ProviderServer(ProviderBehaviour(...)) as provider:` serves at `provider.url`."""

    def __init__(self, behaviour: ProviderBehaviour | None = None) -> None:
        self.behaviour = behaviour or ProviderBehaviour()
        super().__init__(create_provider_app(self.behaviour))

    def effects(self) -> dict[str, Any]:
        """GET /effects: effect counts per key; the totals of requests, 429s, 500s, replays."""
        return dict(httpx.get(f"{self.url}/effects", timeout=10).json())

    def __enter__(self) -> "ProviderServer":
        self.start()
        return self


def main() -> None:
    """`python -m governor.demo.provider_server --port N [--rate R] [--fail F] [--latency S]`:
    serve until killed, printing the URL once it answers (for benches and multi-process tests)."""
    import argparse

    parser = argparse.ArgumentParser(description="A fulfilment provider stand-in on loopback.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--rate", type=int, default=None, help="calls/s before 429s")
    parser.add_argument("--fail", type=float, default=0.0, help="fraction answered 500")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before answering")
    parser.add_argument("--seed", type=int, default=0)
    given = parser.parse_args()
    behaviour = ProviderBehaviour(rate_per_second=given.rate, failure_rate=given.fail,
                                  latency_s=given.latency, seed=given.seed)  # fmt: skip
    import uvicorn

    print(f"http://127.0.0.1:{given.port}", flush=True)
    uvicorn.run(create_provider_app(behaviour), host="127.0.0.1", port=given.port,
                log_level="warning", access_log=False)  # fmt: skip


if __name__ == "__main__":
    main()
