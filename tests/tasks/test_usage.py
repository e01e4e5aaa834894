"""Tests of pricing model calls and adding them up per task."""

import threading
from datetime import UTC, datetime

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from governor.errors import BadInput
from governor.tasks import usage
from governor.tasks.usage import PricedCall, UsageTotals, collect_usage, price_call

AT = datetime(2025, 6, 1, tzinfo=UTC)

# OpenAI's published gpt-4o price (https://openai.com/api/pricing/, checked against the
# genai-prices 0.2.x data): $2.50 per 1M input tokens, $1.25 per 1M cached input tokens,
# $10.00 per 1M output tokens.
GPT4O_INPUT_PER_MTOK_MICROS = 2_500_000
GPT4O_CACHED_PER_MTOK_MICROS = 1_250_000
GPT4O_OUTPUT_PER_MTOK_MICROS = 10_000_000

# Anthropic's published Claude 3.5 Sonnet price (https://www.anthropic.com/pricing#api):
# $3 per 1M input tokens, $15 per 1M output tokens, $0.30 per 1M cache-read tokens.
SONNET_INPUT_PER_MTOK_MICROS = 3_000_000
SONNET_OUTPUT_PER_MTOK_MICROS = 15_000_000
SONNET_CACHED_PER_MTOK_MICROS = 300_000


def test_gpt4o_is_priced_at_its_published_rate() -> None:
    priced = price_call(
        "gpt-4o", provider="openai", input_tokens=1_000_000, output_tokens=1_000_000, at=AT
    )
    assert priced.cost_micros == GPT4O_INPUT_PER_MTOK_MICROS + GPT4O_OUTPUT_PER_MTOK_MICROS
    assert type(priced.cost_micros) is int
    assert priced.provider == "openai"
    assert priced.warning is None
    assert priced.price_version is not None
    assert priced.price_version.startswith("genai-prices@0.2.")


def test_provider_is_found_from_the_model_name() -> None:
    priced = price_call(
        "claude-3-5-sonnet", provider=None, input_tokens=2_000, output_tokens=1_000, at=AT
    )
    expected = (2_000 * SONNET_INPUT_PER_MTOK_MICROS + 1_000 * SONNET_OUTPUT_PER_MTOK_MICROS) // (
        1_000_000
    )
    assert priced.cost_micros == expected == 21_000
    assert priced.provider == "anthropic"


def test_cached_tokens_are_priced_at_the_cache_rate_and_not_counted_twice() -> None:
    priced = price_call(
        "gpt-4o",
        provider="openai",
        input_tokens=1_000_000,
        output_tokens=0,
        cached_tokens=400_000,
        at=AT,
    )
    # 600k uncached at $2.50/M + 400k cached at $1.25/M = $1.50 + $0.50
    expected = (
        600_000 * GPT4O_INPUT_PER_MTOK_MICROS + 400_000 * GPT4O_CACHED_PER_MTOK_MICROS
    ) // 1_000_000
    assert priced.cost_micros == expected == 2_000_000
    uncached = price_call(
        "gpt-4o", provider="openai", input_tokens=1_000_000, output_tokens=0, at=AT
    )
    assert uncached.cost_micros == 2_500_000


def test_cost_is_integer_micro_dollars_rounded_half_up() -> None:
    # 1 input token of gpt-4o costs $0.0000025 = 2.5 micro-dollars -> 3
    priced = price_call("gpt-4o", provider="openai", input_tokens=1, output_tokens=0, at=AT)
    assert priced.cost_micros == 3
    assert isinstance(priced.cost_micros, int)
    assert usage.to_micros(usage.Decimal("0.0000024")) == 2


def test_unknown_model_is_unpriced_with_a_warning() -> None:
    priced = price_call("no-such-model-xyz", provider="openai", input_tokens=10, output_tokens=5)
    assert priced.cost_micros is None
    assert priced.price_version is None
    assert priced.warning is not None
    assert "no-such-model-xyz" in priced.warning
    assert "openai" in priced.warning


def test_unknown_provider_is_unpriced_with_a_warning() -> None:
    priced = price_call("gpt-4o", provider="nowhere-ai", input_tokens=10, output_tokens=5)
    assert priced.cost_micros is None
    assert priced.warning is not None
    assert "nowhere-ai" in priced.warning


@pytest.mark.parametrize(
    ("input_tokens", "output_tokens", "cached_tokens", "message"),
    [
        (-1, 0, 0, "input_tokens must not be negative"),
        (0, -5, 0, "output_tokens must not be negative"),
        (10, 0, -1, "cached_tokens must not be negative"),
        (10, 0, 11, "cached_tokens (11) cannot exceed input_tokens (10)"),
    ],
)
def test_bad_counts_are_refused(
    input_tokens: int, output_tokens: int, cached_tokens: int, message: str
) -> None:
    with pytest.raises(BadInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        price_call(
            "gpt-4o",
            provider="openai",
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cached_tokens=cached_tokens,
        )


def _call(model: str, tokens_in: int, tokens_out: int, cost: int | None) -> PricedCall:
    return PricedCall(
        model=model,
        provider="openai",
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        cached_tokens=0,
        cost_micros=cost,
        price_version="v1" if cost is not None else None,
        warning=None if cost is not None else f"no price for {model}",
    )


def test_totals_pick_the_model_with_most_tokens() -> None:
    totals = UsageTotals()
    totals.add(_call("small", 100, 50, 1))
    totals.add(_call("big", 400, 100, 10))
    totals.add(_call("small", 200, 100, 2))
    # small: 450 tokens, big: 500 tokens
    assert totals.ai_model == "big"
    assert totals.tokens_in == 700
    assert totals.tokens_out == 250
    assert totals.cost_micros == 13
    assert totals.partial is False


def test_totals_ties_go_to_the_first_model_seen() -> None:
    totals = UsageTotals()
    totals.add(_call("first", 10, 10, 1))
    totals.add(_call("second", 15, 5, 1))
    assert totals.ai_model == "first"


def test_totals_of_partly_priced_calls_are_partial() -> None:
    totals = UsageTotals()
    totals.add(_call("known", 10, 10, 7))
    totals.add(_call("unknown", 10, 10, None))
    assert totals.cost_micros == 7
    assert totals.partial is True
    assert totals.warnings == ("no price for unknown",)
    assert totals.price_version == "v1"


def test_totals_of_unpriced_calls_have_no_cost() -> None:
    totals = UsageTotals()
    assert totals.cost_micros is None
    assert totals.ai_model is None
    totals.add(_call("unknown", 10, 10, None))
    totals.add(_call("unknown", 10, 10, None))
    assert totals.cost_micros is None
    assert totals.partial is False
    assert totals.warnings == ("no price for unknown",)
    assert totals.columns() == {
        "ai_model": "unknown",
        "tokens_in": 20,
        "tokens_out": 20,
        "tokens_cached": 0,
        "cost_micros": None,
        "price_version": None,
    }


def test_totals_are_safe_across_threads() -> None:
    totals = UsageTotals()
    call = _call("m", 3, 2, 5)

    def work() -> None:
        for _ in range(1_000):
            totals.add(call)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert totals.calls == 8_000
    assert totals.tokens_in == 24_000
    assert totals.cost_micros == 40_000


def test_record_llm_usage_adds_to_the_current_totals_and_the_span() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    with collect_usage() as totals, tracer.start_as_current_span("task"):
        priced = usage.record_llm_usage("gpt-4o", 1_000, 500, cached_tokens=200, provider="openai")
    assert usage.current_totals.get() is None
    # 800 * 2.5 + 200 * 1.25 + 500 * 10 micro-dollars
    assert priced.cost_micros == 2_000 + 250 + 5_000
    assert totals.columns() == {
        "ai_model": "gpt-4o",
        "tokens_in": 1_000,
        "tokens_out": 500,
        "tokens_cached": 200,
        "cost_micros": 7_250,
        "price_version": priced.price_version,
    }
    (span,) = exporter.get_finished_spans()
    (event,) = span.events
    assert event.attributes is not None
    assert event.attributes["gen_ai.operation.name"] == "chat"
    assert event.attributes["gen_ai.request.model"] == "gpt-4o"
    assert event.attributes["gen_ai.provider.name"] == "openai"
    assert event.attributes["gen_ai.usage.input_tokens"] == 1_000
    assert event.attributes["gen_ai.usage.output_tokens"] == 500
    assert event.attributes["governor.cost_micros"] == 7_250


def test_record_llm_usage_outside_a_task_just_returns_the_price() -> None:
    priced = usage.record_llm_usage("gpt-4o", 10, 10, provider="openai")
    assert priced.cost_micros is not None
    assert usage.current_totals.get() is None
