"""The Celery executor's scheduler side: claims ready tasks and queues them for the workers."""

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from governor.models import ExecutionTask
from governor.storage.db import session_scope
from governor.tasks import gate, leases, registry
from governor.tasks.celery_app import dispatch_lease_s, send
from governor.tasks.outage import Outage
from governor.tasks.runner import worker_name
from governor.tracing.context import untraced

log = logging.getLogger("governor.tasks")
MAX_CHUNK = 8
BACKLOG = 64 * MAX_CHUNK  # ready tasks counted at most, to size the chunks


def chunk_size(ready: int) -> int:  # ready: claimed now plus still waiting
    """Attempts per message: one while few are ready, up to MAX_CHUNK under a backlog.

    One attempt a message spreads a few tasks over every worker; under a backlog, a message's
    own cost (about a millisecond to send and as much to receive) would dominate short tasks.
    """
    return max(1, min(MAX_CHUNK, ready // 64))


@dataclass
class Dispatcher:
    """Keeps up to `max_inflight` attempts queued or running, per-type limits cluster-wide."""

    engine: Engine
    lease_s: float = 30.0
    max_inflight: int = 1000
    poll_s: float = 0.05
    owner: str = field(default_factory=lambda: leases.DISPATCHED + worker_name("celery"))

    def _claim(self, session: Session) -> list[leases.Claimed]:
        running = dict(
            session.execute(
                select(ExecutionTask.type, func.count())
                .where(ExecutionTask.status == "running")
                .group_by(ExecutionTask.type)
            ).all()
        )
        free = self.max_inflight - sum(running.values())
        if free <= 0:
            return []
        room = {t: spec.concurrency - running.get(t, 0)
                for t, spec in registry.known().items() if spec.concurrency}  # fmt: skip
        agents_allowed = gate.status(session).open
        return leases.claim_batch(
            session, self.owner, free, lease_s=dispatch_lease_s(self.lease_s),
            agents_allowed=agents_allowed, type_room=room,
        )  # fmt: skip

    def dispatch_once(self) -> int:
        """Claim what can run now and queue it; return how many attempts were queued."""
        with untraced(), session_scope(self.engine) as session:
            claimed = self._claim(session)
            backlog = leases.ready_count(session, BACKLOG) if claimed else 0
        size = chunk_size(len(claimed) + backlog)
        for start in range(0, len(claimed), size):
            try:
                send([(c.id, c.attempt) for c in claimed[start : start + size]])
            except Exception:  # the broker is gone: what was not sent goes back to pending
                with untraced(), session_scope(self.engine) as session:
                    leases.release(session, self.owner, [c.id for c in claimed[start:]])
                raise
        return len(claimed)

    async def run(self, stop: asyncio.Event) -> None:
        """Dispatch until `stop` is set; back off while the database or the broker fails."""
        outage = Outage("the dispatcher", log)
        while not stop.is_set():
            try:
                dispatched = await asyncio.to_thread(self.dispatch_once)
            except Exception as error:  # a lost database or broker must not end dispatching
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=outage.failed(error))
                continue
            outage.succeeded()
            if not dispatched:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.poll_s)
