"""Currency rules and Stripe-like fees, all in integer minor units."""

from governor.revenue.currency import ZERO_DECIMAL, is_zero_decimal

__all__ = [
    "DISPUTE_FEE",
    "FEE_PERMILLE",
    "FIXED_FEE",
    "ZERO_DECIMAL",
    "is_zero_decimal",
    "processing_fee",
]

FEE_PERMILLE = 29  # 2.9 %
FIXED_FEE = 30  # 30 minor units (e.g. $0.30) on two-decimal currencies
DISPUTE_FEE = 1500  # withdrawn with a dispute, in the currency's minor unit


def processing_fee(amount: int, currency: str) -> int:
    """2.9 % (rounded half up) plus 30 minor units; no fixed part for zero-decimal currencies."""
    percent = (amount * FEE_PERMILLE + 500) // 1000
    return percent + (0 if is_zero_decimal(currency) else FIXED_FEE)
