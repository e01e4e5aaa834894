"""The monitors' findings as the API gives them."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class FindingOut(BaseModel):
    """One anomaly (a flagged point) or drift (where a lasting change began) of a series."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    series: str
    kind: str
    at: datetime
    value: float
    score: float
    expected_low: float | None
    expected_high: float | None
    explanation: str
    link: str | None
    alert_id: str | None
