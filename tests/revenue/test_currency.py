"""Currency exponents, and amounts between Stripe's report text and integer minor units."""

import pytest

from governor.demo.stripe_server import money
from governor.revenue import currency
from governor.revenue.currency import (
    exponent,
    format_minor,
    is_known,
    is_zero_decimal,
    normalise,
    to_minor,
)


def test_exponents_follow_stripe_and_ignore_case() -> None:
    assert [exponent(c) for c in ("usd", "EUR", "jpy", "KRW", "xpf", "kwd", "BHD", "tnd")] == [
        2, 2, 0, 0, 0, 3, 3, 3,
    ]  # fmt: skip
    assert exponent("zzz") == 2  # any other code has two places
    assert is_zero_decimal("JPY") and not is_zero_decimal("usd")
    assert normalise(" USD ") == "usd"
    assert is_known("chf") and not is_known("zzz")
    with pytest.raises(ValueError, match="three-letter"):
        exponent("us")


def test_the_stand_in_uses_the_same_zero_decimal_set() -> None:
    assert money.ZERO_DECIMAL is currency.ZERO_DECIMAL
    assert money.is_zero_decimal is currency.is_zero_decimal
    assert money.processing_fee(10_000, "usd") == 320
    assert money.processing_fee(10_000, "JPY") == 290


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("10.00", "usd", 1000),
        ("-0.59", "usd", -59),
        ("0.00", "eur", 0),
        ("-0.00", "eur", 0),
        ("1234567.89", "gbp", 123456789),
        ("1000", "jpy", 1000),
        ("-500", "JPY", -500),
        ("5.124", "kwd", 5124),
        ("-0.010", "bhd", -10),
        ("7", "usd", 700),  # no decimals written: whole units
        ("10.5", "usd", 1050),
        ("10.000", "usd", 1000),  # extra zeros change nothing
        ("1000.00", "jpy", 1000),
        (" 12.34 ", "usd", 1234),
    ],
)
def test_to_minor(text: str, currency: str, minor: int) -> None:
    assert to_minor(text, currency) == minor


@pytest.mark.parametrize(
    ("text", "currency", "message"),
    [
        ("10.005", "usd", "'10.005' has more decimal places than USD has"),
        ("1000.5", "jpy", "'1000.5' has more decimal places than JPY has"),
        ("5.1245", "kwd", "'5.1245' has more decimal places than KWD has"),
        # Stripe's reports write no thousands separators; a comma is never read as one.
        ("1,234.50", "usd", "no thousands separators"),
        ("10,00", "eur", "not an amount"),
        ("", "usd", "not an amount"),
        ("abc", "usd", "not an amount"),
        ("1e3", "usd", "not an amount"),
        ("NaN", "usd", "not an amount"),
        ("1_000", "usd", "not an amount"),
        ("+1.00", "usd", "not an amount"),
        (".50", "usd", "not an amount"),
        ("10.", "usd", "not an amount"),
        ("--1", "usd", "not an amount"),
        ("١٢", "usd", "not an amount"),  # digits, but not ASCII ones
    ],
)
def test_to_minor_refuses(text: str, currency: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        to_minor(text, currency)


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (1000, "usd", "10.00"),
        (-59, "usd", "-0.59"),
        (-5, "usd", "-0.05"),
        (0, "usd", "0.00"),
        (123456789, "EUR", "1234567.89"),
        (1000, "jpy", "1000"),
        (-1000, "jpy", "-1000"),
        (5124, "kwd", "5.124"),
        (-10, "kwd", "-0.010"),
    ],
)
def test_format_minor_is_the_inverse(minor: int, currency: str, text: str) -> None:
    assert format_minor(minor, currency) == text
    assert to_minor(text, currency) == minor
