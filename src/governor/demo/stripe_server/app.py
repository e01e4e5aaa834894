"""The HTTP API: Bearer auth, injected failures, list and retrieve routes in Stripe's shapes."""

import random
import string
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from governor.demo.stripe_server import checkout_api, listing
from governor.demo.stripe_server.errors import ApiError, injected, missing, unauthorized
from governor.demo.stripe_server.expand import expand, fields_to_expand
from governor.demo.stripe_server.store import KINDS, StripeStore

KEY_PREFIXES = ("sk_test_", "rk_test_")
NO_KEY = (
    "You did not provide an API key. You need to provide your API key in the Authorization "
    "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See "
    "https://stripe.com/docs/api#authentication for details, or we can help at "
    "https://support.stripe.com/."
)


def create_app(store: StripeStore) -> FastAPI:
    """A FastAPI app serving `store` read-only under /v1."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    rng = random.Random()

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.middleware("http")
    async def gate(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        request_id = "req_" + "".join(rng.choices(string.ascii_letters + string.digits, k=14))
        try:
            failure = store.take_failure()
            if failure is not None:
                raise injected(*failure)
            _authenticate(request.headers.get("authorization"))
            response = await call_next(request)
        except ApiError as exc:
            response = JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)
        response.headers["Request-Id"] = request_id
        response.headers["Stripe-Version"] = request.headers.get(
            "stripe-version", store.api_version
        )
        return response

    @app.get("/v1/balance")
    def get_balance() -> JSONResponse:
        return JSONResponse(store.balance())

    def list_page(kind: str, request: Request) -> JSONResponse:
        params = list(request.query_params.multi_items())
        query = listing.parse(kind, params)
        fields = fields_to_expand(kind, query.expand, in_list=True)

        def key_of(object_id: str) -> tuple[int, int] | None:
            found = store.get(kind, object_id)
            return None if found is None else store.sort_key(found)

        items = [
            item for item in store.all(kind) if listing.matches(item, query, store.paid_out_in)
        ]
        data, has_more = listing.page(items, query, KINDS[kind], store.sort_key, key_of)
        data = [expand(item, fields, store.find) for item in data]
        return JSONResponse(
            {"object": "list", "data": data, "has_more": has_more, "url": request.url.path}
        )

    checkout_api.install(app, store, list_page)

    @app.get("/v1/{kind}")
    def list_objects(kind: str, request: Request) -> JSONResponse:
        _known(kind, request)
        return list_page(kind, request)

    @app.get("/v1/{kind}/{object_id}")
    def retrieve(kind: str, object_id: str, request: Request) -> JSONResponse:
        _known(kind, request)
        params = list(request.query_params.multi_items())
        fields = fields_to_expand(kind, listing.parse_expand(params), in_list=False)
        found = store.get(kind, object_id)
        if found is None:
            raise missing(KINDS[kind], object_id)
        return JSONResponse(expand(found, fields, store.find))

    @app.api_route(
        "/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
    )
    def unknown(path: str, request: Request) -> JSONResponse:
        raise _unrecognised(request)

    return app


def _authenticate(header: str | None) -> None:
    """Accept `Bearer sk_test_…` or `Bearer rk_test_…`; anything else is a 401."""
    if not header:
        raise unauthorized(NO_KEY)
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise unauthorized(NO_KEY)
    key = key.strip()
    if not key.startswith(KEY_PREFIXES) or len(key) <= len("sk_test_"):
        raise unauthorized(f"Invalid API Key provided: {key[:8]}{'*' * 4}{key[-4:]}")


def _known(kind: str, request: Request) -> None:
    if kind not in KINDS or kind == checkout_api.KIND:  # served at its own path
        raise _unrecognised(request)


def _unrecognised(request: Request) -> ApiError:
    return ApiError(
        404,
        f"Unrecognized request URL ({request.method}: {request.url.path}). Please see "
        "https://stripe.com/docs or we can help at https://support.stripe.com/.",
    )
