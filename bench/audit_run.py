"""A full audit at scale: `governor demo --scale N` on SQLite, a backup, then `governor audit
run` (every check and canary, the newest backup really restored into a scratch database).

Prints the audit's wall time and its process's peak memory, beside the time of one
reconciliation of the audit's window alone on the same data, in the same run. Goal: a full
audit in ≤ 60 s on SQLite at a million tasks and ledger entries.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from common import ROOT, report

GOAL_S = 60
MEASURE = """
import resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
      done.returncode)
"""
RECONCILE = """
import time
from datetime import timedelta
from governor.models.types import utcnow
from governor.revenue.reconcile import Window, record
from governor.storage.db import session_scope
now = utcnow()
start = time.perf_counter()
with session_scope() as session:
    record(session, Window(now - timedelta(days=1), now), "bench")
print(time.perf_counter() - start)
"""


def governor(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "governor", *args], env=env, cwd=ROOT, capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.exit(f"governor {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        env = {
            **os.environ,
            "GOVERNOR_DATABASE_URL": f"sqlite:///{Path(folder) / 'audit.db'}",
            "GOVERNOR_BACKUP_DIR": str(Path(folder) / "backups"),
            "PYTHONPATH": str(ROOT),
        }
        governor(["db", "upgrade"], env)
        governor(["demo", "--scale", str(args.scale)], env)
        governor(["db", "backup"], env)
        reconcile = subprocess.run(
            [sys.executable, "-c", RECONCILE],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        reconcile_s = float(reconcile.stdout.split()[-1])
        measured = subprocess.run(
            [
                sys.executable,
                "-c",
                MEASURE,
                sys.executable,
                "-m",
                "governor",
                "audit",
                "run",
                "--json",
            ],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        seconds, peak_kib, code = measured.stdout.split()
        audit = json.loads(
            subprocess.run(
                [sys.executable, "-m", "governor", "audit", "list", "--json", "--limit", "1"],
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )[0]
        report(
            f"full audit at --scale {args.scale:,} (SQLite)",
            float(seconds),
            "s",
            "one reconciliation of the window alone",
            reconcile_s,
            peak_memory_mib=round(int(peak_kib) / 1024, 1),
            goal_s=GOAL_S,
            exit_code=int(code),
            severity=audit["severity"],
            passed=audit["passed"],
        )


if __name__ == "__main__":
    main()
