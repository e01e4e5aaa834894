"""Trace and price the calls of one OpenAI-compatible client instance."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, TracerProvider

from governor.tasks.usage import record_llm_usage

ClientT = TypeVar("ClientT")

_INSTRUMENTED = "_governor_instrumented"


def _usage_counts(usage: Any, api: str) -> tuple[int, int, int] | None:
    """Read (input, output, cached) tokens from a chat-completions or responses `usage`."""
    if usage is None:
        return None
    if api == "chat":
        input_tokens = getattr(usage, "prompt_tokens", None)
        output_tokens = getattr(usage, "completion_tokens", None)
        details = getattr(usage, "prompt_tokens_details", None)
    else:
        input_tokens = getattr(usage, "input_tokens", None)
        output_tokens = getattr(usage, "output_tokens", None)
        details = getattr(usage, "input_tokens_details", None)
    if input_tokens is None and output_tokens is None:
        return None
    cached = getattr(details, "cached_tokens", None) if details is not None else None
    return int(input_tokens or 0), int(output_tokens or 0), int(cached or 0)


def _on_response(span: Span, response: Any, request_model: str, api: str, provider: str) -> None:
    """Set the response attributes on the span and record the usage."""
    response_model = getattr(response, "model", None)
    if isinstance(response_model, str):
        span.set_attribute("gen_ai.response.model", response_model)
    response_id = getattr(response, "id", None)
    if isinstance(response_id, str):
        span.set_attribute("gen_ai.response.id", response_id)
    counts = _usage_counts(getattr(response, "usage", None), api)
    if counts is None:
        return
    input_tokens, output_tokens, cached_tokens = counts
    span.set_attribute("gen_ai.usage.input_tokens", input_tokens)
    span.set_attribute("gen_ai.usage.output_tokens", output_tokens)
    span.set_attribute("gen_ai.usage.cache_read.input_tokens", cached_tokens)
    priced = record_llm_usage(
        response_model if isinstance(response_model, str) else request_model,
        input_tokens,
        output_tokens,
        cached_tokens,
        provider=provider,
    )
    if priced.cost_micros is not None:
        span.set_attribute("governor.cost_micros", priced.cost_micros)


def _wrap(
    original: Callable[..., Any], api: str, provider: str, tracer: trace.Tracer
) -> Callable[..., Any]:
    """Wrap one `create` method (sync or async) in a GenAI client span."""

    def start(kwargs: dict[str, Any]) -> tuple[str, dict[str, str]]:
        model = str(kwargs.get("model", "unknown"))
        attributes = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": provider,
            "gen_ai.request.model": model,
        }
        return model, attributes

    @contextmanager
    def call_span(kwargs: dict[str, Any]) -> Iterator[tuple[Span, str]]:
        """The CLIENT span of one call; a failure is recorded on it and raised again."""
        model, attributes = start(kwargs)
        with tracer.start_as_current_span(
            f"chat {model}",
            kind=SpanKind.CLIENT,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                yield span, model
            except BaseException as exc:
                span.record_exception(exc)
                span.set_attribute("error.type", type(exc).__qualname__)
                span.set_status(Status(StatusCode.ERROR, str(exc)))
                raise

    # The SDK decorates some async methods with sync wrappers; look through them.
    if inspect.iscoroutinefunction(inspect.unwrap(original)):

        @functools.wraps(original)
        async def acreate(*args: Any, **kwargs: Any) -> Any:
            with call_span(kwargs) as (span, model):
                response = await original(*args, **kwargs)
                _on_response(span, response, model, api, provider)
                return response

        return acreate

    @functools.wraps(original)
    def create(*args: Any, **kwargs: Any) -> Any:
        with call_span(kwargs) as (span, model):
            response = original(*args, **kwargs)
            _on_response(span, response, model, api, provider)
            return response

    return create


def instrument_openai(
    client: ClientT, *, provider: str = "openai", tracer_provider: TracerProvider | None = None
) -> ClientT:
    """Trace and price `chat.completions.create` and `responses.create` of this client instance."""
    if getattr(client, _INSTRUMENTED, False):
        return client
    tracer = trace.get_tracer(__name__, tracer_provider=tracer_provider)
    targets = (("chat", ("chat", "completions")), ("responses", ("responses",)))
    for api, path in targets:
        resource: Any = client
        for name in path:
            resource = getattr(resource, name, None)
            if resource is None:
                break
        original = getattr(resource, "create", None) if resource is not None else None
        if callable(original):
            resource.create = _wrap(original, api, provider, tracer)
    setattr(client, _INSTRUMENTED, True)
    return client
