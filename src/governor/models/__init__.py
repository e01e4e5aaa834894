"""Every table of Governor, importable from one place so that Base.metadata is complete."""

from governor.models.alerts import Alert
from governor.models.base import Base
from governor.models.gate import GateEvent
from governor.models.revenue import (
    Discrepancy,
    LedgerEntry,
    ReconciliationRun,
    StripeBalanceTransaction,
    StripeEvent,
    StripeSyncCheckpoint,
)
from governor.models.tasks import ExecutionTask, TaskDependency, TaskSpan

__all__ = [
    "Alert",
    "Base",
    "Discrepancy",
    "ExecutionTask",
    "GateEvent",
    "LedgerEntry",
    "ReconciliationRun",
    "StripeBalanceTransaction",
    "StripeEvent",
    "StripeSyncCheckpoint",
    "TaskDependency",
    "TaskSpan",
]
