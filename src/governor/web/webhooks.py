"""POST /webhooks/stripe: verify, store once, answer at once; a system task does the work.

The endpoint is a plain ASGI handler in front of the router: Stripe may send bursts of
thousands of events, and this path needs none of the framework's request machinery.
"""

import asyncio
import json
from typing import Any

from sqlalchemy.engine import Engine
from starlette.types import ASGIApp, Receive, Scope, Send

from governor.config import Settings
from governor.errors import GovernorError
from governor.revenue.webhook import Receiver, RejectedWebhook, verify

PATH = "/webhooks/stripe"


class StripeWebhooks:
    """ASGI middleware answering `POST /webhooks/stripe` itself; everything else passes on."""

    def __init__(self, app: ASGIApp, *, settings: Settings, engine: Engine) -> None:
        self.app = app
        self.receiver = Receiver(engine)
        self.secrets = settings.webhook_secrets()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        if scope["method"] != "POST":
            await _answer(send, 405, {"error": "Use POST."}, ((b"allow", b"POST"),))
            return
        payload = await _body(receive)
        headers = dict(scope["headers"])
        signature = headers.get(b"stripe-signature")
        try:
            event = verify(payload, signature.decode("latin-1") if signature else None,
                           self.secrets)  # fmt: skip
        except RejectedWebhook as error:
            await _answer(send, 400, {"error": error.message})
            return
        except GovernorError as error:  # not configured: Stripe retries later
            await _answer(send, error.http_status, error.to_dict())
            return
        await asyncio.wrap_future(self.receiver.receive(event))
        await _answer(send, 200, {"received": True})


async def _body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


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
