"""`fresh_registry`: the task registry as the test found it (its types are gone after it)."""

import pytest

from governor.tasks import registry


@pytest.fixture
def fresh_registry():
    before = registry.known()
    yield
    for name in set(registry.known()) - set(before):
        registry.unregister(name)
    for spec in before.values():  # a test may have replaced a handler: put it back
        registry.register(spec)
