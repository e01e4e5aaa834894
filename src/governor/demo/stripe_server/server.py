"""Run the stand-in with uvicorn in a background thread on a free loopback port."""

import socket
import threading
import time
from types import TracebackType

import uvicorn

from governor.demo.stripe_server import webhooks
from governor.demo.stripe_server.app import create_app
from governor.demo.stripe_server.objects import Obj
from governor.demo.stripe_server.store import StripeStore


class StripeServer:
    """`with StripeServer() as server:` serves `server.store` at `server.url`."""

    def __init__(self, store: StripeStore | None = None, host: str = "127.0.0.1") -> None:
        self.store = store or StripeStore()
        self.host = host
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The API base, e.g. `http://127.0.0.1:54321` (routes live under /v1)."""
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> "StripeServer":
        """Bind a free port, start serving and wait until requests are answered."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            create_app(self.store),
            log_level="warning",
            access_log=False,
            lifespan="off",
            loop="asyncio",
            http="h11",
        )
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="stripe-stand-in", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the Stripe stand-in did not start")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Ask uvicorn to exit and wait for its thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        self._server = None
        self._thread = None

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
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
