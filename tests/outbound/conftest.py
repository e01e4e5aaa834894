"""Fixtures for the outbound tests: settings from keyword arguments, clients closed afterwards."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from governor.config import get_settings
from governor.outbound import OutboundClient, close, reset_stats

Configure = Callable[..., None]


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch) -> Configure:
    """Set GOVERNOR_<NAME> for each keyword argument and re-read the settings."""

    def apply(**values: object) -> None:
        for name, value in values.items():
            monkeypatch.setenv(f"GOVERNOR_{name.upper()}", str(value))
        get_settings.cache_clear()

    return apply


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
