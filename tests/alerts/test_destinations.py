"""GOVERNOR_ALERT_URLS read into destinations whose names and errors never show a secret."""

import logging

import pytest

from governor.alerts.destinations import Destination, destinations, redact
from governor.config import get_settings
from tests.conftest import Configure


def test_urls_split_on_commas_and_spaces_but_not_inside_a_url(configure: Configure):
    raw = " json://h1:81/a/tok, mailto://u:p@h2?to=a@x.org,b@x.org\n\ttgram://123:XYZ/9 ,"
    configure(alert_urls=raw)
    found = destinations(get_settings())
    assert [d.url for d in found] == [
        "json://h1:81/a/tok", "mailto://u:p@h2?to=a@x.org,b@x.org", "tgram://123:XYZ/9",
    ]  # fmt: skip
    assert [d.name for d in found] == ["json://h1:81/…", "mailto://h2/…", "tgram://…"]
    assert "tok" not in repr(found) and "tok" not in repr(get_settings())


def test_no_urls_no_destinations(configure: Configure):
    assert destinations(get_settings()) == []
    configure(alert_urls=" , ")
    assert destinations(get_settings()) == []


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("json://127.0.0.1:8123/hooks/T0KEN", "json://127.0.0.1:8123/…"),
        ("jsons://example.com", "jsons://example.com"),
        (
            "mailtos://user:S3CRET@smtp.example.com?to=ops@example.com",
            "mailtos://smtp.example.com/…",
        ),
        ("discord://1234/T0KEN", "discord://…"),  # the host is an id, the path a token
        ("tgram://123456:T0KEN/-100", "tgram://…"),  # not even a port: a token
        ("pbul://o.T0KEN", "pbul://…"),
        ("T0KEN-with-no-scheme", "?://…"),
        ("json://[::1/x", "json://…"),
    ],
)
def test_redacted_names(url: str, name: str):
    assert redact(url) == name


def test_repeated_names_get_their_position(configure: Configure):
    configure(alert_urls="json://h/one json://h/two")
    assert [d.name for d in destinations(get_settings())] == ["json://h/… #1", "json://h/… #2"]


def test_scrub_removes_every_secret_part():
    destination = Destination("x", "mailtos://alice:S3CRET%21@smtp.example.com/T0KEN?key=K3Y")
    text = "login alice:S3CRET! at smtp.example.com failed for /T0KEN (key K3Y)"
    scrubbed = destination.scrub(text)
    assert all(s not in scrubbed for s in ("alice", "S3CRET", "T0KEN", "K3Y"))
    assert "smtp.example.com" in scrubbed


def test_library_logs_lose_the_secrets_of_configured_urls(configure, caplog):
    configure(alert_urls="json://127.0.0.1/hooks/T0KEN-42")
    destinations(get_settings())
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("apprise").debug("POST URL: http://127.0.0.1/hooks/%s", "T0KEN-42")
        logging.getLogger("urllib3.connectionpool").debug('"POST /hooks/T0KEN-42 HTTP/1.1" 200')
    assert "T0KEN-42" not in caplog.text
    assert "POST URL: http://127.0.0.1/" in caplog.text
