"""`governor serve` as a real process: it migrates nothing, checks the schema, and serves."""

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.ports import free_port

pytestmark = pytest.mark.slow
GOVERNOR = [sys.executable, "-m", "governor"]


def wait_for(url: str, process: subprocess.Popen, deadline_s: float = 30.0) -> httpx.Response:
    """Poll until the server answers (or the process dies, or the deadline passes)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if process.poll() is not None:
            raise AssertionError(f"serve exited with {process.returncode}")
        try:
            return httpx.get(url, timeout=1.0)
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError(f"{url} did not answer within {deadline_s}s")


def _bearer(database: Path) -> dict[str, str]:
    """An Authorization header with a new API token of the database."""
    from governor.auth.service import create_token
    from governor.storage.db import create_engine, session_scope

    engine = create_engine(f"sqlite:///{database}")
    try:
        with session_scope(engine) as session:
            _, token = create_token(session, name="serve-test")
    finally:
        engine.dispose()
    return {"Authorization": f"Bearer {token}"}


def test_serve_starts_on_a_migrated_database_and_serves_the_page(tmp_path: Path):
    env = {**os.environ, "GOVERNOR_DATABASE_URL": f"sqlite:///{tmp_path / 'g.db'}"}
    subprocess.run([*GOVERNOR, "db", "upgrade"], env=env, check=True, capture_output=True)
    port = free_port()
    process = subprocess.Popen(
        [*GOVERNOR, "serve", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        health = wait_for(f"http://127.0.0.1:{port}/healthz", process)
        assert health.status_code == 200
        assert health.json()["schema"]["verdict"] == "clean"
        assert httpx.get(f"http://127.0.0.1:{port}/").status_code == 401  # sign-in first
        page = httpx.get(f"http://127.0.0.1:{port}/", headers=_bearer(tmp_path / "g.db"))
        assert page.status_code == 200
        assert "Governor" in page.text
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_serve_refuses_a_database_one_migration_behind(tmp_path: Path):
    env = {**os.environ, "GOVERNOR_DATABASE_URL": f"sqlite:///{tmp_path / 'g.db'}"}
    subprocess.run([*GOVERNOR, "db", "upgrade", "0001"], env=env, check=True, capture_output=True)
    result = subprocess.run(
        [*GOVERNOR, "serve", "--port", str(free_port())], env=env, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "adds columns execution_tasks.ai_model" in result.stderr
    assert "Traceback" not in result.stderr
