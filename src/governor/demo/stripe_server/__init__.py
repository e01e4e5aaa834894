"""A small stateful Stripe stand-in: scenario store, HTTP API, signed webhook delivery."""

from governor.demo.stripe_server.clock import Clock
from governor.demo.stripe_server.server import StripeServer
from governor.demo.stripe_server.store import StripeStore
from governor.demo.stripe_server.webhooks import Delivery, deliver, sign

__all__ = ["Clock", "Delivery", "StripeServer", "StripeStore", "deliver", "sign"]
