"""OutboundClient: the one way Governor calls outside services (limits, retries, breaker, span)."""

import logging
import random
import threading
import time
from collections.abc import Callable
from functools import partial
from types import TracebackType
from typing import Any, Self

import httpx

from governor.config import Settings, get_settings
from governor.outbound import retry
from governor.outbound.breaker import CircuitBreaker, CircuitOpen
from governor.outbound.buckets import open_store
from governor.outbound.limits import parse_limits
from governor.outbound.redact import redact_httpx_logs
from governor.outbound.stats import count
from governor.outbound.throttle import Throttle
from governor.outbound.tls import tls_context
from governor.outbound.tracing import call_span

log = logging.getLogger(__name__)
redact_httpx_logs()


class OutboundClient:
    """An httpx.Client with per-host shared rate limits, retries and circuit breakers.

    `sleep` and `clock` (monotonic seconds, used by the breakers) can be replaced in tests.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        seed: int | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        limits = parse_limits(self.settings.outbound_limits, self.settings.outbound_limit_margin)
        self.throttle = Throttle(limits, partial(open_store, self.settings))
        self._http = httpx.Client(
            timeout=self.settings.outbound_timeout_seconds,
            transport=transport,
            verify=tls_context(),
        )
        self._sleep = sleep
        self._clock = clock
        self._rng = random.Random(seed)
        self._breakers: dict[str, CircuitBreaker] = {}
        self._lock = threading.Lock()

    def breaker(self, host: str) -> CircuitBreaker:
        """The circuit breaker of one host."""
        key = host.lower()
        with self._lock:
            breaker = self._breakers.get(key)
            if breaker is None:
                breaker = CircuitBreaker(
                    key,
                    self.settings.outbound_breaker_failures,
                    self.settings.outbound_breaker_reset_seconds,
                    self._clock,
                )
                self._breakers[key] = breaker
            return breaker

    def request(self, method: str, url: str | httpx.URL, **kwargs: Any) -> httpx.Response:
        """Send one request (httpx arguments), waiting for a token and retrying as allowed.

        Returns the last response, even a 4xx/5xx (call raise_for_status() as needed); raises
        CircuitOpen when the host's circuit is open, or the httpx error of the last attempt.
        """
        method = method.upper()
        target = httpx.URL(url)
        host = target.host.lower()
        breaker = self.breaker(host)
        attempts = 0
        throttled_ms = 0.0
        count(host, calls=1)
        with call_span(method, target) as span:
            try:
                while True:
                    attempts += 1
                    try:
                        breaker.before_call()
                    except CircuitOpen:
                        count(host, rejected_by_breaker=1)
                        raise
                    try:
                        waited = self.throttle.wait(host)
                    except BaseException:  # e.g. the database is down: no verdict on the host
                        breaker.abandon()
                        raise
                    throttled_ms += waited
                    count(host, attempts=1, throttled_ms=waited)
                    delay = self._attempt(method, target, host, breaker, attempts, kwargs)
                    if isinstance(delay, httpx.Response):
                        span.set_attribute("http.response.status_code", delay.status_code)
                        return delay
                    count(host, retries=1)
                    self._sleep(delay)
            finally:
                span.set_attribute("governor.outbound.attempts", attempts)
                span.set_attribute("governor.outbound.throttled_ms", round(throttled_ms))

    def _attempt(
        self,
        method: str,
        url: httpx.URL,
        host: str,
        breaker: CircuitBreaker,
        attempt: int,
        kwargs: dict[str, Any],
    ) -> httpx.Response | float:
        """One try: the response to return, or the seconds to wait before the next try."""
        last = attempt >= self.settings.outbound_max_attempts
        try:
            response = self._http.request(method, url, **kwargs)
        except httpx.LocalProtocolError:
            # The request itself is malformed (e.g. a header with a newline): not the host's
            # fault, and trying again cannot help. The error may quote a header: never log it.
            breaker.abandon()
            raise
        except httpx.TransportError as error:
            self._failed(host, breaker)
            if last or not retry.retryable_error(method, error, keyed=_keyed(kwargs)):
                raise
            delay = retry.backoff_seconds(attempt, self._rng)
            log.info(
                "%s to %s failed (%s), attempt %d; retrying in %.2f s",
                method, host, type(error).__name__, attempt, delay,
            )  # fmt: skip
            return delay
        except BaseException:
            breaker.abandon()
            raise
        status = response.status_code
        if status >= 500:
            self._failed(host, breaker)
        else:
            breaker.record_success()
        if status == 429:
            count(host, responses_429=1)
        if last or not retry.retryable_status(method, status, keyed=_keyed(kwargs)):
            return response
        asked = retry.retry_after_seconds(response)
        delay = retry.backoff_seconds(attempt, self._rng) if asked is None else asked
        if delay > retry.MAX_RETRY_AFTER_SECONDS:
            return response
        response.close()
        log.info(
            "%s to %s answered %d, attempt %d; retrying in %.2f s",
            method, host, status, attempt, delay,
        )  # fmt: skip
        return delay

    def _failed(self, host: str, breaker: CircuitBreaker) -> None:
        count(host, failures=1)
        if breaker.record_failure():
            count(host, breaker_opens=1)
            log.warning("circuit to %s opened after repeated failures", host)

    def get(self, url: str | httpx.URL, **kwargs: Any) -> httpx.Response:
        """GET with the same guarantees as request()."""
        return self.request("GET", url, **kwargs)

    def post(self, url: str | httpx.URL, **kwargs: Any) -> httpx.Response:
        """POST; retried only on 429, 503 or when the connection was never made, unless it
        carries an Idempotency-Key: then like an idempotent method."""
        return self.request("POST", url, **kwargs)

    def close(self) -> None:
        """Close connections and the shared-limit store."""
        self._http.close()
        self.throttle.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _keyed(kwargs: dict[str, Any]) -> bool:
    """Whether the request carries an Idempotency-Key (the server then does it at most once)."""
    return "idempotency-key" in httpx.Headers(kwargs.get("headers"))


_default: OutboundClient | None = None
_default_lock = threading.Lock()


def default_client() -> OutboundClient:
    """The process's shared client, rebuilt when the settings were re-read."""
    global _default
    settings = get_settings()
    with _default_lock:
        if _default is None or _default.settings is not settings:
            if _default is not None:
                _default.close()
            _default = OutboundClient(settings)
        return _default


def close() -> None:
    """Close the shared client (it is made again on the next call)."""
    global _default
    with _default_lock:
        if _default is not None:
            _default.close()
            _default = None


def request(method: str, url: str | httpx.URL, **kwargs: Any) -> httpx.Response:
    """Send a request through the shared client."""
    return default_client().request(method, url, **kwargs)


def get(url: str | httpx.URL, **kwargs: Any) -> httpx.Response:
    """GET through the shared client."""
    return default_client().get(url, **kwargs)


def post(url: str | httpx.URL, **kwargs: Any) -> httpx.Response:
    """POST through the shared client."""
    return default_client().post(url, **kwargs)
