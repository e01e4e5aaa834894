"""What a drill-down asks for: the filters of the ledger rows and of the tasks behind a figure,
defined once for the service, the JSON API (as query parameters) and the pages."""

from dataclasses import asdict, dataclass
from typing import Any

# How far every paginated list (API and pages) may be asked to go: far beyond any table Governor
# keeps, far below the 64-bit integers a database takes (a larger offset used to be a 500).
MAX_LIMIT = 1000
MAX_OFFSET = 10_000_000


@dataclass(frozen=True)
class LedgerFilters:
    """Ledger entries of one currency, status, offer, idea or order (each optional; the ledger
    kinds are asked for beside them, as a list)."""

    currency: str | None = None
    status: str | None = None
    offer_id: str | None = None
    idea_id: str | None = None
    order_id: str | None = None

    def asked(self) -> dict[str, Any]:
        return given(asdict(self))


@dataclass(frozen=True)
class TaskFilters:
    """Tasks of one type, model, status, kind, idea, offer or order (each optional);
    `ai_model=""` asks for the tasks that used no model."""

    type: str | None = None
    ai_model: str | None = None
    status: str | None = None
    kind: str | None = None
    idea_id: str | None = None
    offer_id: str | None = None
    order_id: str | None = None

    def asked(self) -> dict[str, Any]:
        """The filters given a value, the model also when it asks for none."""
        found = given({k: v for k, v in asdict(self).items() if k != "ai_model"})
        return found if self.ai_model is None else {**found, "ai_model": self.ai_model}


def given(filters: dict[str, Any]) -> dict[str, Any]:
    """The filters given a value (a list for several values)."""
    return {name: value for name, value in filters.items() if value not in (None, "", [])}
