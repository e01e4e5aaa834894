"""Run the stand-in with uvicorn in a background thread on a free loopback port."""

from governor.demo.background_server import BackgroundServer
from governor.demo.stripe_server import webhooks
from governor.demo.stripe_server.app import create_app
from governor.demo.stripe_server.objects import Obj
from governor.demo.stripe_server.store import StripeStore


class StripeServer(BackgroundServer):
    """`with StripeServer() as server:` serves `server.store` at `server.url` (routes under /v1)."""

    def __init__(self, store: StripeStore | None = None, host: str = "127.0.0.1") -> None:
        self.store = store or StripeStore()
        super().__init__(create_app(self.store), host)

    def deliver(
        self,
        url: str,
        secret: str,
        events: list[Obj] | None = None,
        *,
        duplicates: int = 0,
        shuffle: bool = False,
        seed: int | None = None,
        timestamp: int | None = None,
        forge: bool = False,
    ) -> list[webhooks.Delivery]:
        """POST events (default: every recorded one, oldest first), signed with `secret`."""
        chosen = events if events is not None else list(reversed(self.store.all("events")))
        return webhooks.deliver(
            chosen,
            url,
            secret,
            duplicates=duplicates,
            shuffle=shuffle,
            seed=seed,
            timestamp=timestamp,
            forge=forge,
        )

    def __enter__(self) -> "StripeServer":
        self.start()
        return self
