"""Every table of Governor, importable from one place so that Base.metadata is complete."""

from governor.models.access import ApiToken, User, UserSession
from governor.models.alerts import Alert, AlertDelivery
from governor.models.analytics import (
    LedgerDaily,
    LedgerHourly,
    RollupChange,
    RollupVersion,
    TaskDaily,
    TaskHourly,
)
from governor.models.audits import FsarRecord
from governor.models.base import Base
from governor.models.business import Customer, Idea, Offer, OfferStatusChange, Order
from governor.models.checkout import CheckoutSession, FunnelEvent
from governor.models.fulfilment import Feedback, Fulfilment
from governor.models.gate import GateEvent
from governor.models.monitors import Finding, MonitorState
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
    "AlertDelivery",
    "ApiToken",
    "Base",
    "CheckoutSession",
    "Customer",
    "Discrepancy",
    "ExecutionTask",
    "Feedback",
    "Finding",
    "FsarRecord",
    "Fulfilment",
    "FunnelEvent",
    "GateEvent",
    "Idea",
    "LedgerDaily",
    "LedgerEntry",
    "LedgerHourly",
    "MonitorState",
    "Offer",
    "OfferStatusChange",
    "Order",
    "ReconciliationRun",
    "RollupChange",
    "RollupVersion",
    "StripeBalanceTransaction",
    "StripeEvent",
    "StripeSyncCheckpoint",
    "TaskDaily",
    "TaskDependency",
    "TaskHourly",
    "TaskSpan",
    "User",
    "UserSession",
]
