"""`governor serve` believes X-Forwarded-For only from GOVERNOR_TRUSTED_PROXIES (default: none)."""

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from governor.auth.service import create_user
from governor.config import get_settings
from governor.errors import ConfigError
from governor.storage.db import create_engine, session_scope
from governor.storage.migrate import migrate
from tests.support.ports import free_port

pytestmark = pytest.mark.slow
GOVERNOR = [sys.executable, "-m", "governor"]
PASSWORD = "correct horse battery"


@contextmanager
def serving(tmp_path: Path, **settings: str) -> Iterator[str]:
    """A real `governor serve` on a fresh database with the user alice; its base URL."""
    database = f"sqlite:///{tmp_path / 'g.db'}"
    engine = create_engine(database)
    try:
        migrate(engine, "upgrade", "head", backup=False)
        with session_scope(engine) as session:
            create_user(session, name="alice", password=PASSWORD)
    finally:
        engine.dispose()
    env = {**os.environ, "GOVERNOR_DATABASE_URL": database, **settings}
    port = free_port()
    process = subprocess.Popen([*GOVERNOR, "serve", "--port", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, "serve exited"
            try:
                httpx.get(f"{url}/healthz", timeout=1.0)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "serve did not answer"
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def guess(url: str, *, name: str, forwarded_for: str) -> httpx.Response:
    """One wrong password for `name`, claiming to come from `forwarded_for`."""
    with httpx.Client(base_url=url, headers={"X-Forwarded-For": forwarded_for}) as client:
        form = client.get("/login", headers={"accept": "text/html"})
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token, form.text
        return client.post("/login", data={"name": name, "password": "wrong guess",
                                           "csrf_token": token.group(1)})  # fmt: skip


def test_a_spoofed_forwarded_for_does_not_escape_the_per_address_limit(tmp_path):
    with serving(tmp_path) as url:
        for n in range(5):
            wrong = guess(url, name=f"user{n}", forwarded_for=f"203.0.113.{n}")
            assert wrong.status_code == 200 and "Wrong name or password." in wrong.text
        blocked = guess(url, name="user9", forwarded_for="203.0.113.9")
        assert blocked.status_code == 429
        assert "Too many failed sign-ins" in blocked.text


def test_a_trusted_proxy_names_the_client(tmp_path):
    with serving(tmp_path, GOVERNOR_TRUSTED_PROXIES="127.0.0.0/8, ::1") as url:
        for n in range(5):
            assert guess(url, name=f"user{n}", forwarded_for=f"203.0.113.{n}").status_code == 200
        assert guess(url, name="user9", forwarded_for="203.0.113.9").status_code == 200
        for _ in range(4):  # the fifth failure from one client address
            assert guess(url, name="user9", forwarded_for="203.0.113.0").status_code == 200
        assert guess(url, name="user8", forwarded_for="203.0.113.0").status_code == 429


def test_a_malformed_proxy_address_is_refused_at_start(monkeypatch):
    monkeypatch.setenv("GOVERNOR_TRUSTED_PROXIES", "10.0.0.0/8, proxy.local")
    get_settings.cache_clear()
    with pytest.raises(ConfigError) as refused:
        get_settings()
    assert "GOVERNOR_TRUSTED_PROXIES" in refused.value.message
    assert "'proxy.local' is not an IP address or CIDR network" in refused.value.message
    monkeypatch.setenv("GOVERNOR_TRUSTED_PROXIES", " 10.0.0.0/8 , ::1 ")
    get_settings.cache_clear()
    assert get_settings().proxy_networks() == ["10.0.0.0/8", "::1"]
