"""`expand[]`: replace id fields with the objects they name, as Stripe does one level deep."""

from collections.abc import Callable

from governor.demo.stripe_server.errors import invalid
from governor.demo.stripe_server.objects import Obj

# Which id fields of each collection's objects can be expanded.
EXPANDABLE: dict[str, frozenset[str]] = {
    "balance_transactions": frozenset({"source"}),
    "charges": frozenset({"balance_transaction", "payment_intent"}),
    "checkout_sessions": frozenset({"customer", "line_items", "payment_intent"}),
    "disputes": frozenset({"charge", "payment_intent"}),
    "events": frozenset(),
    "payment_intents": frozenset({"latest_charge"}),
    "payouts": frozenset({"balance_transaction"}),
    "refunds": frozenset({"balance_transaction", "charge", "payment_intent"}),
}


def fields_to_expand(kind: str, paths: list[str], *, in_list: bool) -> list[str]:
    """Validate expand paths (`data.` prefixed on lists) and return the bare field names."""
    fields = []
    for path in paths:
        name = path.removeprefix("data.") if in_list and path.startswith("data.") else None
        if not in_list:
            name = path
        if name is None or name not in EXPANDABLE[kind]:
            raise invalid(f"This property cannot be expanded ({path}).", "expand")
        fields.append(name)
    return fields


def expand(obj: Obj, fields: list[str], find: Callable[[str], Obj | None]) -> Obj:
    """The object with each named id field replaced by the object it names (null stays null)."""
    for name in fields:
        value = obj.get(name)
        if isinstance(value, str):
            obj[name] = find(value) or value
    return obj
