"""The official Stripe SDK, sending every call through Governor's outbound client."""

import io
import weakref
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx
import stripe

from governor.config import Settings, get_settings
from governor.errors import BadInput, ConfigError
from governor.outbound import OutboundClient

KEY_HINT = (
    "Set GOVERNOR_STRIPE_API_KEY to a restricted key with read access to events, charges, "
    "refunds, disputes, payouts and balance transactions (rk_live_… or rk_test_…)."
)
MAX_LIMIT = 100

# StripeClient has no close(): each one's own OutboundClient is closed when it is collected,
# or earlier by close_client().
_closers: "weakref.WeakKeyDictionary[stripe.StripeClient, weakref.finalize[Any, Any]]" = (
    weakref.WeakKeyDictionary()
)


class OutboundHTTPClient(stripe.HTTPClient):
    """Stripe's HTTP layer over an OutboundClient: shared limits, retries and circuit breaker.

    The SDK's own retries are always off, whatever a request asks, so that each call is
    retried once, by the outbound client. Transport failures become stripe.APIConnectionError
    with the API key scrubbed; CircuitOpen is raised as is.
    """

    name = "governor-outbound"

    def __init__(self, outbound: OutboundClient, *, owned: bool = False) -> None:
        super().__init__()
        self.outbound = outbound
        self._owned = owned

    def request_with_retries(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        post_data: Any = None,
        max_network_retries: int | None = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[str, int, Mapping[str, str]]:
        """Send one call; the SDK may not retry it (outbound already did)."""
        return super().request_with_retries(
            method, url, headers, post_data, max_network_retries=0, _usage=_usage
        )

    def request_stream_with_retries(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        post_data: Any = None,
        max_network_retries: int | None = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[Any, int, Mapping[str, str]]:
        """Send one streamed call; the SDK may not retry it (outbound already did)."""
        return super().request_stream_with_retries(
            method, url, headers, post_data, max_network_retries=0, _usage=_usage
        )

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[str, int, Mapping[str, str]]:
        """Body text, status and headers of one call, as the SDK expects them."""
        response = self._send(method, url, headers, post_data)
        return response.text, response.status_code, response.headers

    def request_stream(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[Any, int, Mapping[str, str]]:
        """Like request(), the body (read in full) given as a stream."""
        response = self._send(method, url, headers, post_data)
        return io.BytesIO(response.content), response.status_code, response.headers

    def _send(
        self, method: str, url: str, headers: Mapping[str, str] | None, post_data: Any
    ) -> httpx.Response:
        sent = dict(headers or {})
        try:
            return self.outbound.request(method, url, headers=sent, content=post_data)
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            # The error's text may quote a header (the key): scrub it and drop the chain.
            detail = _scrub(f"{type(error).__name__}: {error}", _secrets(sent))
            message = f"Could not reach Stripe at {urlsplit(url).hostname} ({detail})."
            raise stripe.APIConnectionError(message, should_retry=False) from None

    def close(self) -> None:
        """Close the outbound client if this client made it."""
        if self._owned:
            self.outbound.close()


def _secrets(headers: Mapping[str, str]) -> list[str]:
    """The credentials in request headers: the Authorization value and its token."""
    found = []
    for name, value in headers.items():
        if name.lower() == "authorization" and value:
            found.append(value)
            token = value.partition(" ")[2].strip()
            if token:
                found.append(token)
    return found


def _scrub(text: str, secrets: list[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "[redacted]")
    return text


def is_configured(settings: Settings | None = None) -> bool:
    """Whether a Stripe API key is set."""
    settings = settings or get_settings()
    key = settings.stripe_api_key
    return key is not None and bool(key.get_secret_value().strip())


def _api_key(settings: Settings) -> str:
    """The key from the settings, checked without ever quoting it."""
    if not is_configured(settings):
        raise ConfigError("No Stripe API key is configured.", hint=KEY_HINT)
    assert settings.stripe_api_key is not None
    key = settings.stripe_api_key.get_secret_value().strip()
    if not key.isascii() or not key.isprintable() or any(c.isspace() for c in key):
        raise ConfigError(
            "GOVERNOR_STRIPE_API_KEY contains spaces or characters an API key cannot have.",
            hint=KEY_HINT,
        )
    if key.startswith("pk_"):
        raise ConfigError(
            "GOVERNOR_STRIPE_API_KEY is a publishable key, which cannot read Stripe's data.",
            hint=KEY_HINT,
        )
    return key


def _api_base(raw: str) -> str:
    """The Stripe API base, an http(s) URL without query, fragment or trailing slash."""
    hint = "Set GOVERNOR_STRIPE_API_BASE to e.g. http://127.0.0.1:12111, or unset it."
    try:
        url = httpx.URL(raw.strip())
    except httpx.InvalidURL:
        raise ConfigError("GOVERNOR_STRIPE_API_BASE is not a URL.", hint=hint) from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigError("GOVERNOR_STRIPE_API_BASE must be an http(s) URL.", hint=hint)
    if url.query or url.fragment or url.userinfo:
        raise ConfigError(
            "GOVERNOR_STRIPE_API_BASE may not carry a query, fragment or user info.", hint=hint
        )
    return str(url).rstrip("/")


def stripe_client(
    settings: Settings | None = None, *, outbound: OutboundClient | None = None
) -> stripe.StripeClient:
    """A StripeClient whose calls all go through `outbound` (by default, one of its own)."""
    if settings is None:
        settings = outbound.settings if outbound is not None else get_settings()
    key = _api_key(settings)
    base = _api_base(settings.stripe_api_base) if settings.stripe_api_base else None
    owned = outbound is None
    http = OutboundHTTPClient(outbound or OutboundClient(settings), owned=owned)
    client = stripe.StripeClient(
        key,
        base_addresses={"api": base} if base else None,
        max_network_retries=0,
        http_client=http,
    )
    if owned:
        _closers[client] = weakref.finalize(client, http.close)
    return client


def close_client(client: stripe.StripeClient) -> None:
    """Close the outbound client stripe_client() made for `client` (if it made one)."""
    closer = _closers.pop(client, None)
    if closer is not None:
        closer()


def _service(client: stripe.StripeClient, resource: str) -> Any:
    """`client.v1.<resource>` (SDK 12+) or `client.<resource>` (older SDKs); a dotted resource
    names a nested service (`checkout.sessions`)."""
    service: Any = getattr(client, "v1", client)
    for part in resource.split("."):
        service = getattr(service, part, None) if part.isidentifier() else None
    if service is None or not callable(getattr(service, "list", None)):
        raise BadInput(
            f"Stripe has no listable resource '{resource}'.",
            hint="Use e.g. events, charges, refunds, disputes, payouts, balance_transactions "
            "or checkout.sessions.",
        )
    return service


def _plain(value: Any) -> Any:
    """Recursively plain JSON-like data (dicts, lists, str, numbers) from SDK objects."""
    if isinstance(value, stripe.StripeObject):
        value = value.to_dict()
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, Decimal):  # Stripe sends decimal_string fields as strings
        return str(value)
    return value


def _items(page: Any) -> list[dict[str, Any]]:
    """The objects of one list page, as the JSON Stripe sent (or converted if not kept)."""
    response = getattr(page, "last_response", None)
    body = getattr(response, "data", None)
    if isinstance(body, Mapping) and isinstance(body.get("data"), list):
        return [_plain(item) for item in body["data"]]  # OrderedDicts become dicts
    return [_plain(item) for item in page.data]


def iter_list(
    client: stripe.StripeClient,
    resource: str,
    *,
    created_gte: int | None = None,
    created_lt: int | None = None,
    limit: int = 100,
    **params: Any,
) -> Iterator[dict[str, Any]]:
    """Every object of a Stripe list, newest first, as plain dicts (pages on `starting_after`)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise BadInput(f"limit must be between 1 and {MAX_LIMIT}, not {limit}.")
    if "ending_before" in params:
        raise BadInput(
            "iter_list pages newest first and cannot take ending_before.",
            hint="Use created_gte/created_lt, or starting_after to resume.",
        )
    created: dict[str, int] = {}
    if created_gte is not None:
        created["gte"] = created_gte
    if created_lt is not None:
        created["lt"] = created_lt
    if created:
        if "created" in params:
            raise BadInput("Give either created or created_gte/created_lt, not both.")
        params["created"] = created
    service = _service(client, resource)
    return _pages(service, {**params, "limit": limit})


def _pages(service: Any, query: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Fetch page after page, each starting after the last object of the one before."""
    while True:
        page = service.list(dict(query))
        items = _items(page)
        yield from items
        if not items or not page.has_more:
            return
        query["starting_after"] = items[-1]["id"]


def retrieve(client: stripe.StripeClient, resource: str, object_id: str) -> dict[str, Any]:
    """One object by id, as a plain dict (e.g. a balance transaction for its fee)."""
    found = _service(client, resource).retrieve(object_id)
    body = getattr(getattr(found, "last_response", None), "data", None)
    return _plain(body if isinstance(body, Mapping) else found)
