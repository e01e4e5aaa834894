"""Fixtures for the outbound tests: clients closed afterwards, sleeps recorded."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from governor.outbound import OutboundClient, close, reset_stats


@pytest.fixture
def make_client() -> Iterator[Callable[..., OutboundClient]]:
    """Build OutboundClients from the current settings; all are closed at the end."""
    made: list[OutboundClient] = []

    def build(**kwargs: Any) -> OutboundClient:
        client = OutboundClient(**kwargs)
        made.append(client)
        return client

    reset_stats()
    yield build
    for client in made:
        client.close()
    close()


class Sleeps(list[float]):
    """A stand-in for time.sleep that records the waits and returns at once."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()
