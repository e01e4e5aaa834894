"""AI usage and its cost: price one model call with genai-prices, add calls up per task."""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

import genai_prices
from opentelemetry import trace

from governor.errors import BadInput

log = logging.getLogger(__name__)

MICROS_PER_USD = Decimal(1_000_000)

current_totals: contextvars.ContextVar[UsageTotals | None] = contextvars.ContextVar(
    "governor_usage_totals", default=None
)
"""The totals of the task running in this context; None outside a task."""

_warned_lock = threading.Lock()
_warned: set[str] = set()


@dataclass(frozen=True)
class PricedCall:
    """One model call: its token counts and what it cost in integer micro-dollars."""

    model: str
    provider: str | None
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    cost_micros: int | None
    price_version: str | None
    warning: str | None = None


def price_version(auto_update_timestamp: datetime | None = None) -> str:
    """The identifier of the price data in use: the genai-prices release, plus its update time."""
    version = f"genai-prices@{genai_prices.__version__}"
    if auto_update_timestamp is not None:
        version += "+" + auto_update_timestamp.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return version


def to_micros(usd: Decimal) -> int:
    """Convert a dollar amount to integer micro-dollars, rounding half up."""
    return int((usd * MICROS_PER_USD).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _check_counts(input_tokens: int, output_tokens: int, cached_tokens: int) -> None:
    for name, value in (
        ("input_tokens", input_tokens),
        ("output_tokens", output_tokens),
        ("cached_tokens", cached_tokens),
    ):
        if isinstance(value, bool) or not isinstance(value, int):
            raise BadInput(f"{name} must be an integer, got {value!r}")
        if value < 0:
            raise BadInput(f"{name} must not be negative, got {value}")
    if cached_tokens > input_tokens:
        raise BadInput(
            f"cached_tokens ({cached_tokens}) cannot exceed input_tokens ({input_tokens})",
            hint="input tokens include cached tokens (OpenTelemetry GenAI convention)",
        )


def price_call(
    model: str,
    *,
    provider: str | None,
    input_tokens: int,
    output_tokens: int,
    cached_tokens: int = 0,
    at: datetime | None = None,
) -> PricedCall:
    """Price one call; input tokens include cached ones, which are billed at the cache-read rate."""
    _check_counts(input_tokens, output_tokens, cached_tokens)
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    usage = genai_prices.Usage(
        input_tokens=input_tokens, output_tokens=output_tokens, cache_read_tokens=cached_tokens
    )
    try:
        calc = genai_prices.calc_price(
            usage, model, provider_id=provider, genai_request_timestamp=at
        )
    except LookupError as exc:
        warning = f"no price for model {model!r} from provider {provider or 'unknown'!r}: {exc}"
        return PricedCall(
            model=model,
            provider=provider,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cached_tokens=cached_tokens,
            cost_micros=None,
            price_version=None,
            warning=warning,
        )
    return PricedCall(
        model=model,
        provider=calc.provider.id,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cached_tokens=cached_tokens,
        cost_micros=to_micros(calc.total_price),
        price_version=price_version(calc.auto_update_timestamp),
    )


class UsageTotals:
    """The usage of one task, added up from its calls; safe to add to from several threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens_in = 0
        self._tokens_out = 0
        self._tokens_cached = 0
        self._cost_micros = 0
        self._priced = 0
        self._unpriced = 0
        self._model_tokens: dict[str, int] = {}
        self._price_version: str | None = None
        self._warnings: list[str] = []

    def add(self, priced: PricedCall) -> None:
        """Add one priced (or unpriced) call to the totals."""
        with self._lock:
            self._tokens_in += priced.input_tokens
            self._tokens_out += priced.output_tokens
            self._tokens_cached += priced.cached_tokens
            tokens = priced.input_tokens + priced.output_tokens
            self._model_tokens[priced.model] = self._model_tokens.get(priced.model, 0) + tokens
            if priced.cost_micros is None:
                self._unpriced += 1
            else:
                self._priced += 1
                self._cost_micros += priced.cost_micros
            if priced.price_version is not None:
                self._price_version = priced.price_version
            if priced.warning is not None and priced.warning not in self._warnings:
                self._warnings.append(priced.warning)

    @property
    def calls(self) -> int:
        """How many calls were added."""
        return self._priced + self._unpriced

    @property
    def tokens_in(self) -> int:
        """Input tokens of all calls, cached ones included."""
        return self._tokens_in

    @property
    def tokens_out(self) -> int:
        """Output tokens of all calls."""
        return self._tokens_out

    @property
    def tokens_cached(self) -> int:
        """Cached input tokens of all calls."""
        return self._tokens_cached

    @property
    def cost_micros(self) -> int | None:
        """The summed cost of the priced calls; None when no call could be priced."""
        with self._lock:
            return self._cost_micros if self._priced else None

    @property
    def partial(self) -> bool:
        """True when some calls were priced and others were not, so the cost is a lower bound."""
        with self._lock:
            return self._priced > 0 and self._unpriced > 0

    @property
    def ai_model(self) -> str | None:
        """The model with the most tokens in and out; ties go to the first one seen."""
        with self._lock:
            best: str | None = None
            best_tokens = -1
            for model, tokens in self._model_tokens.items():
                if tokens > best_tokens:
                    best, best_tokens = model, tokens
            return best

    @property
    def price_version(self) -> str | None:
        """The price data version of the latest priced call."""
        return self._price_version

    @property
    def warnings(self) -> tuple[str, ...]:
        """The distinct warnings of the calls, in order seen."""
        with self._lock:
            return tuple(self._warnings)

    def columns(self) -> dict[str, int | str | None]:
        """The values to copy onto the `execution_tasks` row (ai_model, tokens_*, cost, version)."""
        return {
            "ai_model": self.ai_model,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "tokens_cached": self.tokens_cached,
            "cost_micros": self.cost_micros,
            "price_version": self.price_version,
        }


@contextmanager
def collect_usage(totals: UsageTotals | None = None) -> Iterator[UsageTotals]:
    """Route the model calls made inside the block to `totals` (a new one if not given)."""
    totals = totals if totals is not None else UsageTotals()
    token = current_totals.set(totals)
    try:
        yield totals
    finally:
        current_totals.reset(token)


def _warn_once(key: str, message: str) -> None:
    with _warned_lock:
        if key in _warned:
            return
        _warned.add(key)
    log.warning(message)


def record_llm_usage(
    model: str,
    input_tokens: int,
    output_tokens: int,
    cached_tokens: int = 0,
    provider: str | None = None,
) -> PricedCall:
    """Price a call, add it to the current task's totals and note it on the current span."""
    priced = price_call(
        model,
        provider=provider,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cached_tokens=cached_tokens,
    )
    if priced.warning is not None:
        _warn_once(f"price:{provider}:{model}", priced.warning)
    totals = current_totals.get()
    if totals is not None:
        totals.add(priced)
    else:
        _warn_once("outside-task", "model usage recorded outside a task; it is not attributed")
    span = trace.get_current_span()
    if span.is_recording():
        attributes: dict[str, str | int] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": model,
            "gen_ai.usage.input_tokens": input_tokens,
            "gen_ai.usage.output_tokens": output_tokens,
            "gen_ai.usage.cache_read.input_tokens": cached_tokens,
        }
        if priced.provider is not None:
            attributes["gen_ai.provider.name"] = priced.provider
        if priced.cost_micros is not None:
            attributes["governor.cost_micros"] = priced.cost_micros
        if priced.price_version is not None:
            attributes["governor.price_version"] = priced.price_version
        span.add_event("gen_ai.usage", attributes)
    return priced
