"""The registry loads GOVERNOR_TASK_MODULES itself, so agents' scripts submit without a CLI."""

import subprocess
import sys

import pytest
from sqlalchemy.engine import Engine

from governor.errors import BadInput
from governor.storage.db import session_scope
from governor.tasks import service
from tests.e2e.processes import governor_env

pytestmark = pytest.mark.usefixtures("fresh_registry")

SCRIPT = "import governor; print(governor.submit('slow_step', {'seconds': 0, 'log': 'x'}))"


@pytest.mark.slow
def test_a_script_submits_a_type_from_the_configured_modules(migrated: Engine):
    url = migrated.url.render_as_string(hide_password=False)
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=governor_env(database_url=url),
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    task_id = done.stdout.strip()
    with session_scope(migrated, readonly=True) as session:
        assert service.get_task(session, task_id).type == "slow_step"


def test_an_unknown_type_names_the_modules_searched_not_a_setting_already_set(
    migrated: Engine, configure
):
    configure(task_modules="tests.e2e.agent_tasks")
    with pytest.raises(BadInput) as refused, session_scope(migrated) as session:
        service.submit(session, "no_such_type", None)
    hint = refused.value.hint or ""
    assert "set GOVERNOR_TASK_MODULES" not in hint
    assert "tests.e2e.agent_tasks" in hint


def test_with_no_modules_configured_the_hint_says_to_set_them(migrated: Engine):
    with pytest.raises(BadInput) as refused, session_scope(migrated) as session:
        service.submit(session, "no_such_type", None)
    assert "GOVERNOR_TASK_MODULES" in (refused.value.hint or "")
