"""One POST of a step to its provider through governor.outbound, and what its answer means."""

from dataclasses import dataclass
from typing import Any

import httpx

from governor import outbound
from governor.errors import GovernorError


@dataclass(frozen=True)
class Outcome:
    """How one attempt of a step ended: done (with the provider's result), action_required
    (the customer must act: not retried) or failed (tried again until the limit)."""

    status: str
    result: Any = None
    error: str | None = None
    throttled: int = 0  # 429s the provider answered during the attempt


def post(url: str, key: str, payload: dict[str, Any]) -> Outcome:
    """POST the payload with the step's Idempotency-Key (limits, retries, breaker included)."""
    with outbound.tallied() as tally:
        try:
            response = outbound.post(url, json=payload, headers={"Idempotency-Key": key})
        except GovernorError as error:  # e.g. the host's circuit is open
            return Outcome("failed", error=error.message, throttled=int(tally.responses_429))
        except httpx.HTTPError as error:
            return Outcome("failed", error=f"{type(error).__name__}: {error}",
                           throttled=int(tally.responses_429))  # fmt: skip
    return judge(response, int(tally.responses_429))


def judge(response: httpx.Response, throttled: int) -> Outcome:
    """A 2xx is done; a 422 naming a field needs the customer; anything else failed."""
    status = response.status_code
    body = _json(response)
    if 200 <= status < 300:
        return Outcome("done", result=body if body is not None else {"status": status},
                       throttled=throttled)  # fmt: skip
    error = body.get("error") if isinstance(body, dict) else None
    message = (error.get("message") if isinstance(error, dict) else None) or response.text[:200]
    if status == 422:
        field = error.get("field") if isinstance(error, dict) else None
        named = f"the customer's {field}" if field else "something of the customer"
        return Outcome("action_required", error=f"The provider needs {named}: {message}",
                       throttled=throttled)  # fmt: skip
    return Outcome("failed", error=f"HTTP {status}: {message}", throttled=throttled)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
