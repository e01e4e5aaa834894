"""POST /webhooks/stripe: verify, store once, answer at once; a system task does the work.

The endpoint is a plain ASGI handler in front of the router: Stripe may send bursts of
thousands of events, and this path needs none of the framework's request machinery.
"""

import asyncio
import json
import logging
from typing import Any

from sqlalchemy.engine import Engine
from starlette.types import ASGIApp, Receive, Scope, Send

from governor.config import Settings
from governor.errors import GovernorError, PayloadTooLarge
from governor.revenue.webhook import Receiver, RejectedWebhook, verify

PATH = "/webhooks/stripe"
RETRY_AFTER_S = b"30"
"""What a 503 suggests; Stripe keeps its own schedule of retries, other senders may read it."""

log = logging.getLogger(__name__)


class StripeWebhooks:
    """ASGI middleware answering `POST /webhooks/stripe` itself; everything else passes on."""

    def __init__(self, app: ASGIApp, *, settings: Settings, engine: Engine) -> None:
        self.app = app
        self.receiver = Receiver(engine)
        self.secrets = settings.webhook_secrets()
        self.max_bytes = settings.webhook_max_bytes
        self.future_s = settings.webhook_future_tolerance_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        if scope["method"] != "POST":
            await _answer(send, 405, {"error": "Use POST."}, ((b"allow", b"POST"),))
            return
        headers = dict(scope["headers"])
        signature = headers.get(b"stripe-signature")
        try:
            payload = await _body(receive, headers.get(b"content-length"), self.max_bytes)
            event = verify(payload, signature.decode("latin-1") if signature else None,
                           self.secrets, future_s=self.future_s)  # fmt: skip
        except RejectedWebhook as error:
            await _answer(send, 400, {"error": error.message})
            return
        except GovernorError as error:  # too large; not configured: Stripe retries later
            await _refuse(send, error)
            return
        try:
            await asyncio.wrap_future(self.receiver.receive(event))
        except GovernorError as error:  # this event alone (the others of its commit are stored)
            await _refuse(send, error)  # or the database's fault: 503, and Stripe retries
            return
        except Exception:
            log.exception("Storing Stripe event %s failed", event["id"])
            await _answer(send, 500, {"error": "Storing the event failed; Stripe will retry."})
            return
        await _answer(send, 200, {"received": True})


async def _body(receive: Receive, declared: bytes | None, limit: int) -> bytes:
    """The request body, refused as soon as it is known to exceed `limit` bytes."""
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks, size = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The webhook body is larger than {limit} bytes; Stripe's events are far smaller.",
        hint="If a genuine event is this large, raise GOVERNOR_WEBHOOK_MAX_BYTES.",
    )


async def _refuse(send: Send, error: GovernorError) -> None:
    """Answer with the error's status and its message and hint."""
    retry = ((b"retry-after", RETRY_AFTER_S),) if error.http_status == 503 else ()
    await _answer(send, error.http_status, error.to_dict(), retry)


async def _answer(
    send: Send,
    status: int,
    body: dict[str, Any],
    extra: tuple[tuple[bytes, bytes], ...] = (),
) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
               *extra]  # fmt: skip
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})
