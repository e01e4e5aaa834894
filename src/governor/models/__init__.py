"""Every table of Governor, importable from one place so that Base.metadata is complete."""

from governor.models.base import Base
from governor.models.gate import GateEvent
from governor.models.tasks import ExecutionTask, TaskDependency, TaskSpan

__all__ = ["Base", "ExecutionTask", "GateEvent", "TaskDependency", "TaskSpan"]
