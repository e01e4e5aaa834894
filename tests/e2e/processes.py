"""Starting real `governor` processes for the end-to-end tests, and waiting on the table."""

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def governor_env(**settings: str) -> dict[str, str]:
    """The current environment plus GOVERNOR_* settings, with the tests importable."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GOVERNOR_TASK_MODULES": "tests.e2e.agent_tasks"}
    env.update({f"GOVERNOR_{k.upper()}": v for k, v in settings.items()})
    return env


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start `governor ARGS…` with its output in `log`."""
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "governor", *args], env=env,
                                stdout=out, stderr=subprocess.STDOUT)  # fmt: skip


def wait_until(condition: Callable[[], bool], what: str, deadline_s: float = 60.0) -> None:
    """Poll until the condition holds; fail naming what was awaited."""
    end = time.monotonic() + deadline_s
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def stop(*processes: subprocess.Popen[bytes]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
