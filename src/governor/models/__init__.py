"""Every table of Governor, importable from one place so that Base.metadata is complete."""

from governor.models.access import ApiToken, User
from governor.models.alerts import Alert
from governor.models.analytics import LedgerDaily, RollupChange, TaskDaily
from governor.models.base import Base
from governor.models.business import Customer, Idea, Offer, Order
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
    "ApiToken",
    "Base",
    "Customer",
    "Discrepancy",
    "ExecutionTask",
    "GateEvent",
    "Idea",
    "LedgerDaily",
    "LedgerEntry",
    "Offer",
    "Order",
    "ReconciliationRun",
    "RollupChange",
    "StripeBalanceTransaction",
    "StripeEvent",
    "StripeSyncCheckpoint",
    "TaskDaily",
    "TaskDependency",
    "TaskSpan",
    "User",
]
