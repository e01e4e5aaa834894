"""Webhook signatures checked by the official SDK; delivery with duplicates and shuffling."""

import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import stripe

from governor.demo.stripe_server import StripeServer, StripeStore, sign
from governor.demo.stripe_server.webhooks import encode

SECRET = "whsec_test_secret"


class Receiver:
    """A loopback endpoint that verifies each POST with the SDK and records the outcome."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, str]] = []
        self.verified: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                header = self.headers["Stripe-Signature"]
                receiver.received.append((body, header))
                try:
                    event = stripe.Webhook.construct_event(body, header, SECRET)
                except stripe.SignatureVerificationError:
                    self.send_response(400)
                else:
                    receiver.verified.append(event.id)
                    self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/webhook"
        threading.Thread(target=self.http.serve_forever, args=(0.05,), daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    endpoint = Receiver()
    yield endpoint
    endpoint.http.shutdown()
    endpoint.http.server_close()


def scenario(store: StripeStore) -> None:
    for amount in (1000, 2000, 3000):
        charge = store.create_charge(amount)
        store.clock.advance(10)
    store.refund(charge["id"], 500)


def test_sign_matches_the_sdk() -> None:
    payload = '{"id": "evt_1", "object": "event"}'
    assert sign(payload, SECRET, 1_700_000_000) == (
        stripe.WebhookSignature.generate_signature_header(payload, SECRET, 1_700_000_000)
    )


def test_sdk_accepts_signed_and_rejects_tampered(store: StripeStore) -> None:
    scenario(store)
    event = store.all("events")[0]
    payload = encode(event)
    header = sign(payload, SECRET)

    parsed = stripe.Webhook.construct_event(payload, header, SECRET)
    assert parsed.id == event["id"] and parsed.type == event["type"]

    tampered = payload.replace('"amount": 500', '"amount": 5')
    assert tampered != payload
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(tampered, header, SECRET)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload, sign(payload, "whsec_other"), SECRET)
    stale = sign(payload, SECRET, int(time.time()) - 3600)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload, stale, SECRET)


def test_deliver_duplicates_shuffled(
    store: StripeStore, server: StripeServer, receiver: Receiver
) -> None:
    scenario(store)
    chronological = [e["id"] for e in reversed(store.all("events"))]

    sent = server.deliver(receiver.url, SECRET, duplicates=2, shuffle=True, seed=3)

    assert all(d.status_code == 200 for d in sent)
    assert Counter(receiver.verified) == Counter({event_id: 3 for event_id in chronological})
    assert [d.event_id for d in sent] == receiver.verified
    assert receiver.verified != [i for i in chronological for _ in range(3)]
    # The body received is byte for byte the payload that was signed.
    assert [body.decode() for body, _ in receiver.received] == [d.payload for d in sent]


def test_deliver_in_order_and_forged(
    store: StripeStore, server: StripeServer, receiver: Receiver
) -> None:
    scenario(store)
    chronological = [e["id"] for e in reversed(store.all("events"))]

    in_order = server.deliver(receiver.url, SECRET)
    assert [d.event_id for d in in_order] == chronological == receiver.verified

    forged = server.deliver(receiver.url, SECRET, forge=True)
    stale = server.deliver(receiver.url, SECRET, timestamp=int(time.time()) - 3600)
    assert {d.status_code for d in forged + stale} == {400}
    assert receiver.verified == chronological
