"""Pure arithmetic from rollup cells to KPIs: which ledger kinds make which figure, and ROI."""

from collections import defaultdict
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from governor.analytics.schemas import AiKpis, Income, MoneyKpis
from governor.errors import ConfigError
from governor.revenue.currency import exponent
from governor.revenue.translate import NO_MONEY_STATUSES

KIND_GROUPS: dict[str, tuple[str, ...]] = {
    "gross_revenue": ("charge",),
    "refunds": ("refund", "refund_failure"),
    "disputes": ("dispute", "dispute_reversal"),
    "stripe_fees": ("fee", "stripe_fee"),
    "adjustments": ("adjustment",),
    "cogs": ("fulfilment_cost", "other_cost"),
}
"""The ledger kinds behind each money figure (payouts move money to the bank: no figure)."""

_FIGURE_OF = {kind: figure for figure, kinds in KIND_GROUPS.items() for kind in kinds}
AI_CURRENCY = "usd"  # AI providers bill in US dollars; costs are kept in micro-dollars


def figure_of(kind: str) -> str | None:
    """The money figure a ledger kind adds to, if any."""
    return _FIGURE_OF.get(kind)


def moved_money(status: str) -> bool:
    """Whether an entry with this status moved money (failed, canceled and pending did not)."""
    return status not in NO_MONEY_STATUSES


Totals = defaultdict[str, int]
"""Running sums of KPI fields by name: plain ints add far faster than model attributes."""


def totals() -> Totals:
    return defaultdict(int)


def add_money(sums: Totals, cell: dict[str, Any]) -> None:
    """Add one ledger cell to a currency's running MoneyKpis fields."""
    kind, status, amount = cell["kind"], cell["status"], int(cell["amount_minor"])
    if kind == "charge" and status == "failed":
        sums["failed_charges"] += int(cell["entries"])
    if not moved_money(status):
        return
    figure = figure_of(kind)
    if figure is None:
        return
    sums[figure] += amount
    if kind == "charge":
        sums["orders"] += int(cell["entries"])
    if figure != "cogs":
        sums["net_revenue"] += amount


def money_kpis(cells: Iterable[dict[str, Any]]) -> list[MoneyKpis]:
    """KPIs per currency, currencies in alphabetical order."""
    by_currency: dict[str, Totals] = defaultdict(totals)
    for cell in cells:
        add_money(by_currency[cell["currency"]], cell)
    return [MoneyKpis(currency=c, **by_currency[c]) for c in sorted(by_currency)]


def add_ai(sums: Totals, cell: dict[str, Any]) -> None:
    """Add one task cell to running AiKpis fields."""
    tasks = int(cell["tasks"])
    sums["cost_micros"] += int(cell["cost_micros"])
    sums["tasks"] += tasks
    sums["failed"] += tasks if cell["status"] == "failed" else 0
    sums["tokens_in"] += int(cell["tokens_in"])
    sums["tokens_out"] += int(cell["tokens_out"])
    sums["duration_ms"] += int(cell["duration_ms"])


def ai_kpis(cells: Iterable[dict[str, Any]]) -> AiKpis:
    sums = totals()
    for cell in cells:
        add_ai(sums, cell)
    return AiKpis(**sums)


def micros_to_minor(micros: int, currency: str = AI_CURRENCY) -> int:
    """Micro-units of a currency in its minor units, rounded half up."""
    scaled = Decimal(micros) * Decimal(10) ** exponent(currency) / Decimal(1_000_000)
    return int(scaled.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def roi(net_income: int, costs: int) -> float | None:
    """Net income per unit of cost; None when nothing was spent."""
    return None if costs <= 0 else round(net_income / costs, 4)


def income(money: list[MoneyKpis], ai_cost_micros: int) -> list[Income]:
    """Net income per currency: net revenue less COGS, and less AI cost in USD."""
    currencies = {m.currency: m for m in money}
    if ai_cost_micros and AI_CURRENCY not in currencies:
        currencies[AI_CURRENCY] = MoneyKpis(currency=AI_CURRENCY)
    rows = []
    for currency in sorted(currencies):
        m = currencies[currency]
        ai = micros_to_minor(ai_cost_micros) if currency == AI_CURRENCY else 0
        net = m.net_revenue + m.cogs - ai
        rows.append(Income(currency=currency, net_revenue=m.net_revenue, ai_cost=ai, cogs=m.cogs,
                           net_income=net, roi=roi(net, ai - m.cogs)))  # fmt: skip
    return rows


def parse_rates(text: str) -> dict[str, Decimal]:
    """`eur=1.08,gbp=1.27` → rates; a malformed setting is a ConfigError naming the bad part."""
    rates: dict[str, Decimal] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        currency, _, value = part.partition("=")
        try:
            rate = Decimal(value.strip())
        except ArithmeticError:
            rate = Decimal(0)
        if not currency.strip() or rate <= 0:
            raise ConfigError(f"GOVERNOR_FX_RATES: cannot read {part!r}",
                              hint="write currency=rate pairs, e.g. eur=1.08,gbp=1.27")  # fmt: skip
        rates[currency.strip().lower()] = rate
    return rates


def convert(amount_minor: int, currency: str, target: str, rate: Decimal) -> int:
    """Minor units of one currency in minor units of another at `rate` (units per unit)."""
    shift = Decimal(10) ** (exponent(target) - exponent(currency))
    value = Decimal(amount_minor) * rate * shift
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def reporting_total(
    rows: list[Income], target: str, rates: dict[str, Decimal]
) -> tuple[Income | None, str | None]:
    """One total in the reporting currency, or None and why (a rate is missing)."""
    target = target.lower()
    missing = sorted(r.currency for r in rows if r.currency != target and r.currency not in rates)
    if missing:
        return None, (f"No conversion rate for {', '.join(missing)}: set GOVERNOR_FX_RATES "
                      f"to see one total in {target}")  # fmt: skip
    totals = dict.fromkeys(("net_revenue", "ai_cost", "cogs", "net_income"), 0)
    for row in rows:
        rate = Decimal(1) if row.currency == target else rates[row.currency]
        for field in totals:
            totals[field] += convert(getattr(row, field), row.currency, target, rate)
    costs = totals["ai_cost"] - totals["cogs"]
    total = Income(currency=target, roi=roi(totals["net_income"], costs), **totals)
    note = None if len(rows) <= 1 else "converted at GOVERNOR_FX_RATES"
    return total, note
