"""Group commit for a worker process: its threads' take-overs and results in shared transactions.

A Celery worker runs many attempts at once, each needing two small writes (taking the attempt
over, recording its end). Written one by one they cost a transaction each; the group commit
gathers whatever the other threads asked for while the previous transaction ran.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from governor.storage.group_commit import GroupCommit
from governor.tasks import leases
from governor.tracing.context import untraced


@dataclass
class _Request:
    takes: list[tuple[str, int]] = field(default_factory=list)
    outcomes: list[leases.Outcome] = field(default_factory=list)
    releases: list[str] = field(default_factory=list)


class Batcher:
    """Runs take-overs and records of many threads in shared transactions."""

    def __init__(self, engine: Engine, owner: str, lease_s: float) -> None:
        self.owner, self.lease_s = owner, lease_s
        self._commit = GroupCommit(engine, self._write, name="governor-batcher")

    def take_over(self, attempts: list[tuple[str, int]]) -> list[leases.Claimed]:
        """Take dispatched attempts (task id, attempt) over; stale ones are left out."""
        taken = self._commit.submit(_Request(takes=attempts)).result()
        return [claimed for claimed in taken if claimed is not None]

    def record(self, outcomes: list[leases.Outcome]) -> list[str]:
        """Record how attempts ended; the status written for each ('' if the lease was lost)."""
        written = self._commit.submit(_Request(outcomes=outcomes)).result()
        return [str(status) for status in written]

    def hand_back(self, task_ids: list[str]) -> None:
        """Give interrupted attempts back: pending at once, the attempt not counted."""
        self._commit.submit(_Request(releases=task_ids)).result()

    def _write(self, session: Session, batch: Sequence[_Request]) -> list[list[Any]]:
        takes = [take for r in batch for take in r.takes]
        outcomes = [outcome for r in batch for outcome in r.outcomes]
        with untraced():
            claimed = leases.take_over(session, takes, self.owner, self.lease_s) if takes else {}
            written = iter(leases.record(session, self.owner, outcomes))
            leases.release(session, self.owner, [i for r in batch for i in r.releases])
        return [
            [claimed.get(task_id) for task_id, _ in r.takes] + [next(written) for _ in r.outcomes]
            for r in batch
        ]
