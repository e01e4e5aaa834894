"""A real `governor serve` killed or stopped in the middle of a webhook burst: every delivery it
acknowledged with 200 is in the inbox (Stripe retries the others)."""

import json
import os
import signal
import threading
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from governor.models import StripeEvent
from governor.storage.db import session_scope
from tests.e2e.processes import governor_env, start, stop, wait_until
from tests.revenue.burst import burst
from tests.revenue.conftest import SECRET
from tests.revenue.test_webhooks_hardening import an_event, stored_ids
from tests.support.ports import free_port

pytestmark = pytest.mark.slow
EVENTS = 6000


def _stored(engine: Engine) -> int:
    with session_scope(engine, readonly=True) as session:
        return session.scalar(select(func.count()).select_from(StripeEvent)) or 0


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code < 500
    except httpx.HTTPError:
        return False


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_server_killed_or_stopped_mid_burst_stored_every_event_it_acknowledged(
    migrated: Engine, tmp_path: Path, signum: signal.Signals
) -> None:
    env = governor_env(database_url=migrated.url.render_as_string(hide_password=False),
                       stripe_webhook_secrets=SECRET)  # fmt: skip
    port = free_port()
    server = start(["serve", "--port", str(port)], env, tmp_path / "serve.log")
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: _answers(f"{base}/healthz"), "the server to answer", 30)
        bodies = [json.dumps(an_event(n)) for n in range(EVENTS)]
        statuses: list[int | str] = []
        sender = threading.Thread(
            target=lambda: statuses.extend(burst(f"{base}/webhooks/stripe", bodies)), daemon=True
        )
        sender.start()
        wait_until(lambda: _stored(migrated) >= 300, "the burst to be under way", 30)
        os.kill(server.pid, signum)
        code = server.wait(timeout=30)
        sender.join(timeout=30)
    finally:
        stop(server)
    assert not sender.is_alive()
    if signum == signal.SIGTERM:  # a graceful stop (uvicorn then re-raises the signal)
        assert code in (0, -signal.SIGTERM)
        assert "Application shutdown complete" in (tmp_path / "serve.log").read_text()
    acknowledged = {f"evt_burst_{n}" for n, status in enumerate(statuses) if status == 200}
    assert 300 <= len(acknowledged) < EVENTS  # the signal came in the middle of the burst
    assert set(statuses) <= {200, "not sent", "IncompleteReadError", "ConnectionResetError",
                             "ConnectionRefusedError", "BrokenPipeError"}  # fmt: skip
    stored = stored_ids(migrated)
    assert acknowledged <= stored
    assert stored <= {f"evt_burst_{n}" for n in range(EVENTS)}
