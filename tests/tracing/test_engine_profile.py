"""The profile of tasks run by the engine names a slow type's bottleneck: HTTP and an N+1 loop."""

import asyncio
import json

import httpx
import sqlalchemy as sa

import governor
from governor.storage.db import session_scope
from governor.tasks import registry
from governor.tasks.embedded import EmbeddedExecutor
from governor.tracing import force_flush


def test_tasks_profile_names_the_slow_call_and_the_repeated_query(traced, http_server, cli):
    client = httpx.Client()  # one client: building one per call costs ~100 ms of TLS set-up

    @governor.task("implement_idea")
    def implement_idea(ctx):
        with governor.span("draft plan"):
            client.get(f"{http_server}/slow?idea={ctx.input}")
        with session_scope() as session:
            for _ in range(30):  # one query per item: the N+1 pattern
                session.execute(sa.text("SELECT count(*) FROM task_dependencies")).scalar()

    @governor.task("create_offer")
    def create_offer(ctx):
        client.get(f"{http_server}/fast")

    try:
        for n in range(3):
            governor.submit("implement_idea", n)
            governor.submit("create_offer", n)
        executor = EmbeddedExecutor(traced, concurrency=4)
        asyncio.run(asyncio.wait_for(executor.run_until_idle(), timeout=60))
        executor.close()
        assert force_flush()

        result = cli("tasks", "profile", "--json")
        assert result.exit_code == 0, result.stderr
        profiles = {p["task_type"]: p for p in json.loads(result.stdout)}
        slow = profiles["implement_idea"]
        assert slow["count"] == 3
        assert slow["shares"]["http"] > 0.5
        assert slow["shares"]["db"] > 0
        assert "/slow" in slow["bottleneck"]
        [repeated] = slow["repeated_queries"]
        assert "task_dependencies" in repeated["statement"]
        assert repeated["per_task"] == 30
        assert slow["relative_to_others"] > 1 > profiles["create_offer"]["relative_to_others"]
        table = cli("tasks", "profile", "--type", "implement_idea")
        assert "implement_idea" in table.stdout and "N+1" in table.stdout
    finally:
        registry.unregister("implement_idea")
        registry.unregister("create_offer")
        client.close()
