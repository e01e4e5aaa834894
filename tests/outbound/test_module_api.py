"""The module-level functions use one shared client, rebuilt when the settings change."""

import logging
from collections import deque

import pytest

import governor.outbound as outbound
from tests.support.http_server import serve


def test_module_functions_share_a_client_until_settings_change(configure, make_client) -> None:
    with serve() as server:
        assert outbound.get(server.url).status_code == 200
        assert outbound.post(server.url, json={}).status_code == 200
        assert outbound.request("delete", server.url).status_code == 200
        first = outbound.default_client()
        assert outbound.default_client() is first
        configure(outbound_max_attempts=2)
        assert outbound.default_client() is not first
        assert outbound.default_client().settings.outbound_max_attempts == 2
    assert outbound.stats()["127.0.0.1"].calls == 3


def test_logs_show_no_query_string_or_header(
    make_client, sleeps, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(sleep=sleeps)
    with caplog.at_level(logging.DEBUG), serve(script=deque([(503, {})])) as server:
        response = client.get(
            f"{server.url}/private/path?api_key=s3cret", headers={"Authorization": "Bearer t0ken"}
        )
    assert response.status_code == 200
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("governor"))
    everything = "\n".join(r.getMessage() for r in caplog.records)
    assert "127.0.0.1" in ours
    assert "/private/path" not in ours
    assert "HTTP Request: GET" in everything  # httpx's own line, without the query
    for secret in ("s3cret", "t0ken"):
        assert secret not in everything
