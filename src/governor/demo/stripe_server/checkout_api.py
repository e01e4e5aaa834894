"""`/v1/checkout/sessions`: create (form-encoded, like Stripe), retrieve, list and expire."""

import re
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from governor.demo.stripe_server import listing
from governor.demo.stripe_server.errors import ApiError, invalid, missing
from governor.demo.stripe_server.expand import expand, fields_to_expand
from governor.demo.stripe_server.objects import Obj
from governor.demo.stripe_server.store import StripeStore

KIND = "checkout_sessions"
PATH = "/v1/checkout/sessions"
_KEY = re.compile(r"^(\w+)((?:\[[^\]]*\])*)$")
TOP = frozenset({"mode", "line_items", "metadata", "payment_intent_data", "success_url",
                 "cancel_url", "customer", "customer_email", "client_reference_id",
                 "expires_at", "after_expiration", "expand"})  # fmt: skip
ListPage = Callable[[str, Request], JSONResponse]


def install(app: FastAPI, store: StripeStore, list_page: ListPage) -> None:
    """Add the Checkout Session routes (before the generic `/v1/{kind}` ones)."""

    @app.post(PATH)
    async def create(request: Request) -> JSONResponse:
        pairs = (await request.form()).multi_items()
        form = parse_form([(k, v) for k, v in pairs if isinstance(v, str)])
        return JSONResponse(_create(store, form))

    @app.get(PATH)
    def list_sessions(request: Request) -> JSONResponse:
        return list_page(KIND, request)

    @app.get(PATH + "/{session_id}")
    def retrieve(session_id: str, request: Request) -> JSONResponse:
        paths = listing.parse_expand(list(request.query_params.multi_items()))
        return JSONResponse(_retrieve(store, session_id, paths))

    @app.post(PATH + "/{session_id}/expire")
    def expire(session_id: str) -> JSONResponse:
        found = store.get(KIND, session_id)
        if found is None:
            raise missing("checkout.session", session_id)
        if found["status"] != "open":
            raise invalid('Only Checkout Sessions with a status in ["open"] can be expired.')
        return JSONResponse(store.expire_session(session_id))


def _retrieve(store: StripeStore, session_id: str, paths: list[str]) -> Obj:
    found = store.get(KIND, session_id)
    if found is None:
        raise missing("checkout.session", session_id)
    fields = fields_to_expand(KIND, paths, in_list=False)
    if "line_items" in fields:
        items = store.line_items(session_id)
        found["line_items"] = {"object": "list", "data": items, "has_more": False,
                               "url": f"{PATH}/{session_id}/line_items"}  # fmt: skip
    return expand(found, [f for f in fields if f != "line_items"], store.find)


def parse_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding (`a[b][0][c]=v`) as nested dicts; list indexes stay dict keys."""
    tree: dict[str, Any] = {}
    for key, value in pairs:
        match = _KEY.match(key)
        if match is None:
            raise ApiError(400, f"Invalid parameter name: {key}", param=key)
        path = [match[1], *re.findall(r"\[([^\]]*)\]", match[2])]
        node = tree
        for name in path[:-1]:
            child = node.setdefault(name, {})
            if not isinstance(child, dict):
                raise invalid(f"Invalid hash: {key}", key)
            node = child
        node[path[-1]] = value
    return tree


def _create(store: StripeStore, form: dict[str, Any]) -> Obj:
    for name in form:
        if name not in TOP:
            raise ApiError(400, f"Received unknown parameter: {name}", param=name)
    mode = form.get("mode")
    if not mode:
        raise invalid("Missing required param: mode.", "mode")
    if mode != "payment":
        raise invalid(f"The stand-in supports mode=payment only, not {mode}.", "mode")
    items = form.get("line_items")
    if not isinstance(items, dict) or len(items) != 1:
        raise invalid("Missing required param: line_items (the stand-in takes one line).",
                      "line_items")  # fmt: skip
    item = next(iter(items.values()))
    if not isinstance(item, dict):
        raise invalid("Invalid array", "line_items")
    if "price" in item:
        raise ApiError(400, f"No such price: '{item['price']}'", code="resource_missing",
                       param="line_items[0][price]")  # fmt: skip
    data = item.get("price_data") or {}
    if not isinstance(data, dict) or "currency" not in data or "unit_amount" not in data:
        raise invalid("Missing required param: line_items[0][price_data][unit_amount] and "
                      "[currency].", "line_items[0][price_data]")  # fmt: skip
    product = data.get("product_data") or {}
    metadata = form.get("metadata") or {}
    intent = (form.get("payment_intent_data") or {}).get("metadata") or {}
    recovery = ((form.get("after_expiration") or {}).get("recovery") or {}).get("enabled")
    created = store.clock.now()
    expires_at = _integer(form.get("expires_at"), "expires_at", default=created + 86_400)
    if not created + 1800 <= expires_at <= created + 86_400:
        raise invalid("The `expires_at` timestamp must be between 30 minutes and 24 hours "
                      "from Checkout Session creation.", "expires_at")  # fmt: skip
    return store.open_session(
        _integer(data["unit_amount"], "line_items[0][price_data][unit_amount]", minimum=0),
        str(data["currency"]),
        quantity=_integer(item.get("quantity"), "line_items[0][quantity]", default=1, minimum=1),
        name=str(product.get("name") or "Offer") if isinstance(product, dict) else "Offer",
        metadata=dict(metadata), intent_metadata=dict(intent),
        customer=form.get("customer"), customer_email=form.get("customer_email"),
        client_reference_id=form.get("client_reference_id"), recovery=recovery == "true",
        success_url=form.get("success_url"), cancel_url=form.get("cancel_url"),
        expires_in=expires_at - created,
    )  # fmt: skip


def _integer(value: Any, param: str, *, default: int | None = None, minimum: int = 0) -> int:
    if value is None and default is not None:
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise invalid(f"Invalid integer: {value}", param) from None
    if number < minimum:
        raise invalid(f"This value must be greater than or equal to {minimum}.", param)
    return number
