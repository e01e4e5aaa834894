"""The execution gate: while it is closed no new agent task starts; system tasks go on."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from governor.errors import BadInput
from governor.ids import new_id
from governor.models import GateEvent


@dataclass(frozen=True)
class GateState:
    """Open or closed, and the event that made it so."""

    open: bool
    since: datetime | None
    reason: str | None
    actor: str | None
    report_id: str | None

    def to_dict(self) -> dict[str, object]:
        return {
            "state": "open" if self.open else "closed",
            "since": self.since.isoformat() if self.since else None,
            "reason": self.reason,
            "actor": self.actor,
            "report_id": self.report_id,
        }


def status(session: Session) -> GateState:
    """The gate's state from its latest event (open when there is none)."""
    last = session.scalars(
        select(GateEvent).order_by(GateEvent.at.desc(), GateEvent.id.desc())
    ).first()
    if last is None:
        return GateState(True, None, None, None, None)
    return GateState(last.action == "resume", last.at, last.reason, last.actor, last.report_id)


def pause(session: Session, *, reason: str, actor: str, report_id: str | None = None) -> GateState:
    """Close the gate; a reason is required."""
    if not reason.strip():
        raise BadInput("A reason is required to close the gate.", hint="Use --reason TEXT.")
    session.add(GateEvent(id=new_id("gate"), action="pause", reason=reason, actor=actor,
                          report_id=report_id))  # fmt: skip
    session.flush()
    return status(session)


def resume(
    session: Session, *, actor: str, ack: str | None = None, reason: str | None = None
) -> GateState:
    """Open the gate; when a report closed it, `ack` must name that report."""
    current = status(session)
    if current.open:
        return current
    if current.report_id and ack != current.report_id:
        raise BadInput(
            f"The gate was closed by report {current.report_id}; resuming must acknowledge it.",
            hint=f"Run: governor gate resume --ack {current.report_id}",
        )
    session.add(GateEvent(id=new_id("gate"), action="resume", reason=reason or "resumed",
                          actor=actor, report_id=ack))  # fmt: skip
    session.flush()
    return status(session)
