"""List requests: parse Stripe's query parameters, filter, and cut a page around a cursor."""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from governor.demo.stripe_server.errors import ApiError, invalid, missing
from governor.demo.stripe_server.objects import Obj

# Filters each list accepts besides limit, cursors, created and expand.
FILTERS: dict[str, frozenset[str]] = {
    "balance_transactions": frozenset({"type", "source", "payout", "currency"}),
    "charges": frozenset({"customer", "payment_intent"}),
    "checkout_sessions": frozenset({"customer", "payment_intent", "payment_link", "status"}),
    "disputes": frozenset({"charge", "payment_intent"}),
    "events": frozenset({"type", "types"}),
    "payment_intents": frozenset({"customer"}),
    "payouts": frozenset({"status"}),
    "refunds": frozenset({"charge", "payment_intent"}),
}
CREATED_OPS = {"gt", "gte", "lt", "lte"}
_INDEXED = re.compile(r"^(?P<name>\w+)\[(?P<index>\d*)\]$")
_NESTED = re.compile(r"^(?P<name>\w+)\[(?P<op>\w+)\]$")


@dataclass
class ListQuery:
    """A parsed list request."""

    limit: int = 10
    starting_after: str | None = None
    ending_before: str | None = None
    created: dict[str, int] = field(default_factory=dict)  # "eq" | "gt" | "gte" | "lt" | "lte"
    filters: dict[str, list[str]] = field(default_factory=dict)
    expand: list[str] = field(default_factory=list)


def parse_expand(params: list[tuple[str, str]]) -> list[str]:
    """`expand[]=x`, `expand[0]=x` or `expand=x`, in order."""
    found = []
    for key, value in params:
        match = _INDEXED.match(key)
        if key == "expand" or (match and match["name"] == "expand"):
            found.append(value)
    return found


def parse(kind: str, params: list[tuple[str, str]]) -> ListQuery:
    """Parse and validate a list request's query; unknown parameters are rejected like Stripe."""
    query = ListQuery(expand=parse_expand(params))
    allowed = FILTERS[kind]
    for key, value in params:
        indexed = _INDEXED.match(key)
        nested = _NESTED.match(key)
        if key == "expand" or (indexed and indexed["name"] == "expand"):
            continue
        if key == "limit":
            query.limit = _integer(value, "limit")
            if not 1 <= query.limit <= 100:
                raise invalid(
                    "This value must be greater than or equal to 1 and less than or equal to 100.",
                    "limit",
                )
        elif key in ("starting_after", "ending_before"):
            setattr(query, key, value)
        elif key == "created":
            query.created["eq"] = _integer(value, "created")
        elif nested and nested["name"] == "created" and nested["op"] in CREATED_OPS:
            query.created[nested["op"]] = _integer(value, key)
        elif key in allowed:
            query.filters.setdefault(key, []).append(value)
        elif indexed and indexed["name"] in allowed:
            query.filters.setdefault(indexed["name"], []).append(value)
        else:
            raise ApiError(400, f"Received unknown parameter: {key}", param=key)
    if query.starting_after and query.ending_before:
        raise invalid(
            "You may only specify one of these parameters: ending_before, starting_after."
        )
    return query


def matches(obj: Obj, query: ListQuery, paid_out_in: Callable[[str], str | None]) -> bool:
    """Whether an object passes the created range and the list's filters."""
    created = obj["created"]
    bounds = query.created
    if "eq" in bounds and created != bounds["eq"]:
        return False
    if "gt" in bounds and not created > bounds["gt"]:
        return False
    if "gte" in bounds and not created >= bounds["gte"]:
        return False
    if "lt" in bounds and not created < bounds["lt"]:
        return False
    if "lte" in bounds and not created <= bounds["lte"]:
        return False
    for name, values in query.filters.items():
        if name in ("type", "types") and obj.get("object") == "event":
            if not any(fnmatchcase(obj["type"], pattern) for pattern in values):
                return False
        elif name == "payout":
            if paid_out_in(obj["id"]) not in values:
                return False
        elif obj.get(name) not in values:
            return False
    return True


def page(
    items: list[Obj],
    query: ListQuery,
    object_name: str,
    key: Callable[[Obj], tuple[int, int]],
    key_of: Callable[[str], tuple[int, int] | None],
) -> tuple[list[Obj], bool]:
    """The page of newest-first `items` after/before the cursor, and whether more lie beyond."""
    if query.starting_after is not None:
        cursor = _cursor(query.starting_after, "starting_after", object_name, key_of)
        older = [item for item in items if key(item) < cursor]
        return older[: query.limit], len(older) > query.limit
    if query.ending_before is not None:
        cursor = _cursor(query.ending_before, "ending_before", object_name, key_of)
        newer = [item for item in items if key(item) > cursor]
        return newer[-query.limit :], len(newer) > query.limit
    return items[: query.limit], len(items) > query.limit


def _cursor(
    object_id: str,
    param: str,
    object_name: str,
    key_of: Callable[[str], tuple[int, int] | None],
) -> tuple[int, int]:
    found = key_of(object_id)
    if found is None:
        raise missing(object_name, object_id, param=param, status=400)
    return found


def _integer(value: str, param: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise invalid(f"Invalid integer: {value}", param) from None
