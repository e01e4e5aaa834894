"""Generated requests never make the app fail: every API operation from its OpenAPI description
(Schemathesis) and every page with Hypothesis-made query strings answer below 500.

The database holds a small business (ideas, offers, orders, ledger, tasks, an alert), so the
generated requests reach rows, and the route list is read from the app, so routes added later
are covered too.
"""

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from sqlalchemy.engine import Engine

from governor.alerts.service import raise_alert
from governor.auth.service import create_token
from governor.config import get_settings
from governor.storage.db import session_scope
from governor.web.app import create_app
from tests.web.pages.data import Business, a_business
from tests.web.test_access import endpoints

EXAMPLES = 15  # per API operation: the whole file stays near 20 s on one core
PAGE_EXAMPLES = 12  # per GET route
STREAMS = {"/live"}  # server-sent events: an open stream, not an answer
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))  # fmt: skip


@pytest.fixture
def business(migrated: Engine) -> Business:
    made = a_business(migrated)
    with session_scope(migrated) as session:
        raise_alert(session, kind="anomaly", severity=5, fingerprint="revenue",
                    title="Revenue stopped")  # fmt: skip
    return made


@pytest.fixture
def app(business: Business) -> FastAPI:
    return create_app(get_settings())


@pytest.fixture
def token(business: Business) -> str:
    with session_scope() as session:
        return create_token(session, name="fuzz")[1]


def test_no_api_operation_answers_5xx(app: FastAPI, business: Business, token: str) -> None:
    signed = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app, headers=signed)
    real = {"task_id": business.task_id, "idea_id": business.idea_id,
            "offer_id": business.offer_id, "order_id": business.order_id}  # fmt: skip
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15  # the description lists the API
    for operation in operations:
        named = {name: real[name] for name in real if "{" + name + "}" in operation.path}
        cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                          operation.as_strategy(GenerationMode.NEGATIVE),
                          operation.as_strategy(path_parameters=named))  # fmt: skip

        @FUZZ
        @given(case=cases)
        def answers(case: Case) -> None:
            case.call_and_validate(headers=signed, checks=[not_a_server_error])

        answers()


# --- every GET route, the pages too ------------------------------------------------------------

NAMES = ("range", "since", "until", "grain", "limit", "offset", "format", "table", "status",
         "type", "ai_model", "kind", "kinds", "currency", "idea_id", "offer_id", "order_id",
         "next", "severity", "series", "state", "provider", "rating")  # fmt: skip
NUMBERS = (
    "-1",
    "0",
    "1",
    "500",
    "501",
    "1001",
    "10000001",
    str(2**31),
    str(2**53),
    str(2**63 - 1),
    str(2**63),
    str(2**64),
    "9" * 30,
    "-" + "9" * 30,
    "1e9",
    "nan",
)
WORDS = ("", "csv", "html", "24h", "7d", "hour", "month", "2024-02-30", "2024-01-01T00:00:00Z",
         "9999-12-31T23:59:59Z", "0001-01-01", "usd", "%00", "\x00", "'; DROP TABLE ideas; --",
         "<script>", "💸")  # fmt: skip
values = st.sampled_from(NUMBERS) | st.sampled_from(WORDS) | st.text(max_size=12)
# One or two parameters at a time, mostly ones the app reads, so that a bad value is not hidden
# behind another one refused first.
names = st.sampled_from(NAMES) | st.sampled_from(NAMES) | st.text(min_size=1, max_size=6)
queries = st.dictionaries(names, values, min_size=1, max_size=2)


def get_paths(app: FastAPI, business: Business) -> list[str]:
    """Every GET route of the app, its path parameters filled with ids of real rows."""
    ids = {"/tasks/": business.task_id, "/ideas/": business.idea_id,
           "/offers/": business.offer_id, "/orders/": business.order_id}  # fmt: skip
    found = []
    for method, path in sorted(set(endpoints(app.routes))):
        if method != "GET" or path.startswith("/static/") or path in STREAMS:
            continue
        for prefix, real in ids.items():
            if path.endswith(prefix + "x1"):
                path = path.removesuffix("x1") + real
        found.append(path)
    return found


def test_no_get_route_answers_5xx_whatever_its_query(app: FastAPI, business: Business,
                                                     token: str) -> None:  # fmt: skip
    client = TestClient(app, headers={"Authorization": f"Bearer {token}",
                                      "accept": "text/html"})  # fmt: skip
    paths = get_paths(app, business)
    assert {"/", "/ledger", "/api/ledger", "/api/offers"} <= set(paths)  # the walk found them
    for path in paths:
        never_5xx(client, path)


def never_5xx(client: TestClient, path: str) -> None:
    """Hypothesis-made query strings on one path: no answer of 500 or more."""

    @settings(FUZZ, max_examples=PAGE_EXAMPLES)
    @given(query=queries)
    def answers(query: dict[str, str]) -> None:
        response = client.get(path, params=query)
        assert response.status_code < 500, (path, query, response.status_code,
                                            response.text[:300])  # fmt: skip

    answers()


@pytest.mark.parametrize(
    "path",
    [
        "/api/ledger",
        "/api/tasks",
        "/api/ideas",
        "/api/offers",
        "/api/orders",
        "/ledger",
        "/tasks",
        "/ideas",
        "/orders",
    ],
)
def test_a_page_or_offset_beyond_any_table_is_a_clear_400(app: FastAPI, token: str,
                                                          path: str) -> None:  # fmt: skip
    client = TestClient(app, headers={"Authorization": f"Bearer {token}"},
                        raise_server_exceptions=False)  # fmt: skip
    for name, value in (("offset", 2**64), ("offset", 2**63), ("limit", 2**64), ("offset", -1)):
        response = client.get(path, params={name: str(value)})
        assert response.status_code == 400, (name, value, response.status_code)
        assert name in response.text and "Traceback" not in response.text


def test_a_nul_character_in_the_address_is_a_clear_400(app: FastAPI, token: str) -> None:
    client = TestClient(app, headers={"Authorization": f"Bearer {token}"},
                        raise_server_exceptions=False)  # fmt: skip
    for url in ("/api/tasks?kind=%00", "/api/tasks?ai_model=a%00b", "/api/tasks/task_%00",
                "/tasks?type=%00", "/api/ledger?kind=charge%00"):  # fmt: skip
        response = client.get(url)
        assert response.status_code == 400, (url, response.status_code)
        assert "NUL character" in response.json()["message"]
