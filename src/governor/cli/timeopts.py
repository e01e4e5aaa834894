"""Reading `--since`/`--until` values: ISO dates or date-times (UTC when no zone), or 24h / 7d."""

import re
from datetime import UTC, datetime, timedelta

from governor.errors import BadInput

_RELATIVE = re.compile(r"^(\d+)([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_when(value: str, option: str = "--since") -> datetime:
    """An aware UTC datetime from '2026-11-01', '2026-11-01T12:00', '…+02:00', '24h' or '7d'."""
    text = value.strip()
    relative = _RELATIVE.match(text)
    if relative:
        amount, unit = relative.groups()
        return datetime.now(UTC) - timedelta(**{_UNITS[unit]: int(amount)})
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise BadInput(
            f"{option} {value!r} is not a date.",
            hint="Use an ISO date or date-time (2026-11-01, 2026-11-01T12:00Z) or 30m, 24h, 7d.",
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
