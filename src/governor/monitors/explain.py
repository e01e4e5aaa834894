"""Plain-language findings: a watched series' values in their unit, and what was expected."""

from datetime import datetime

from governor.revenue.currency import exponent


def format_value(unit: str, value: float) -> str:
    """A value in its unit: money in major units with its currency, durations, rates, counts."""
    kind, _, currency = unit.partition(":")
    if kind in ("money", "major"):
        major = value / 10 ** exponent(currency) if kind == "money" else value
        return f"{major:,.{exponent(currency)}f} {currency.upper()}"
    if kind == "micros":
        return f"${value / 1_000_000:,.4f}"
    if kind == "ms":
        return f"{value / 1000:,.1f} s" if value >= 1000 else f"{value:,.0f} ms"
    if kind == "rate":
        return f"{value * 100:.1f}%"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def anomaly_text(
    label: str,
    unit: str,
    at: datetime,
    value: float,
    expected: tuple[float, float] | None,
    score: float,
    days: int,
) -> str:
    """E.g. 'Gross revenue (USD) in the hour from 28 Nov 14:00 UTC was 0.00 USD; the same hour
    of the previous 7 days ranged 120.00 USD to 340.00 USD (anomaly score
    0.97).'"""
    when = f"{at.day} {at:%b %H:%M} UTC"
    said = f"{label} in the hour from {when} was {format_value(unit, value)}"
    if expected is None:
        context = "too little history yet for an expected range"
    else:
        low, high = (format_value(unit, v) for v in expected)
        context = f"the same hour of the previous {days} days ranged {low} to {high}"
    return f"{said}; {context} (anomaly score {score:.2f})."
