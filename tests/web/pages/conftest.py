"""A signed-in client of the whole app (real database, real auth by API token)."""

import pytest
from fastapi.testclient import TestClient

from governor.auth.service import create_token
from governor.config import get_settings
from governor.storage.db import session_scope
from governor.web.app import create_app


def signed_in(app) -> tuple[TestClient, str]:
    """A client that sends a fresh API token with every request, and the token."""
    with session_scope() as session:
        _, token = create_token(session, name="pages-test")
    return TestClient(app, headers={"Authorization": f"Bearer {token}"}), token


@pytest.fixture
def client(migrated) -> TestClient:
    return signed_in(create_app(get_settings()))[0]
