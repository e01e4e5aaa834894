"""The fulfilment of an order as the CLI and the API show it."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class StepOut(BaseModel):
    """One step of an order's fulfilment."""

    model_config = ConfigDict(from_attributes=True)

    step: str
    provider: str
    status: str
    attempts: int
    throttled: int
    idempotency_key: str
    last_error: str | None
    result: Any | None
    task_id: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class FulfilmentOut(BaseModel):
    """An order's fulfilment: the order's status and its steps in the order they were made."""

    order_id: str
    order_status: str
    fulfilled_at: datetime | None
    steps: list[StepOut]


class RetriedOut(BaseModel):
    """A step a person sent back to work, and the task that runs it."""

    order_id: str
    step: str
    task_id: str
