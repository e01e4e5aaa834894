"""Signed webhook delivery: Stripe's `Stripe-Signature` scheme, duplicates, shuffling, forgeries."""

import hashlib
import hmac
import json
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass

import httpx

from governor.demo.stripe_server.objects import Obj
from governor.outbound.tls import tls_context


@dataclass(frozen=True)
class Delivery:
    """One POST made: which event, the exact body and header sent, and the receiver's status."""

    event_id: str
    payload: str
    signature: str
    status_code: int


def encode(event: Obj) -> str:
    """The body Stripe would send for an event (pretty-printed JSON)."""
    return json.dumps(event, indent=2)


def sign(payload: str | bytes, secret: str, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header: `t=<unix>,v1=<hex HMAC-SHA256 of "t.payload">`."""
    body = payload.decode() if isinstance(payload, bytes) else payload
    when = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{when}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={when},v1={digest}"


def deliver(
    events: Iterable[Obj],
    url: str,
    secret: str,
    *,
    duplicates: int = 0,
    shuffle: bool = False,
    seed: int | None = None,
    timestamp: int | None = None,
    forge: bool = False,
    timeout: float = 5.0,
) -> list[Delivery]:
    """POST each event (oldest first) `1 + duplicates` times; optionally shuffled or forged.

    `timestamp` signs with a fixed time (an old one makes a stale signature); `forge` signs
    with a wrong secret so the receiver must reject it.
    """
    queue = [event for event in events for _ in range(1 + duplicates)]
    if shuffle:
        random.Random(seed).shuffle(queue)
    key = secret + "_forged" if forge else secret
    sent = []
    with httpx.Client(timeout=timeout, verify=tls_context()) as client:
        for event in queue:
            payload = encode(event)
            header = sign(payload, key, timestamp)
            response = client.post(
                url,
                content=payload.encode(),
                headers={
                    "Content-Type": "application/json; charset=utf-8",
                    "Stripe-Signature": header,
                    "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                },
            )
            sent.append(Delivery(event["id"], payload, header, response.status_code))
    return sent
