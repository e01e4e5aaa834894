"""A settable clock in unix seconds, so scenarios can build history."""

import time
from datetime import UTC, datetime


class Clock:
    """Real time until frozen; `set` and `advance` move a frozen clock."""

    def __init__(self, start: int | datetime | None = None) -> None:
        self._frozen: int | None = None if start is None else _seconds(start)

    def now(self) -> int:
        """The current time in unix seconds."""
        return int(time.time()) if self._frozen is None else self._frozen

    def now_datetime(self) -> datetime:
        """The current time as a timezone-aware UTC datetime."""
        return datetime.fromtimestamp(self.now(), UTC)

    def set(self, when: int | datetime) -> None:
        """Freeze the clock at a unix time or an aware datetime."""
        self._frozen = _seconds(when)

    def advance(self, seconds: int) -> int:
        """Move the clock forward (freezing it first); returns the new time."""
        self._frozen = self.now() + seconds
        return self._frozen

    def unfreeze(self) -> None:
        """Follow real time again."""
        self._frozen = None


def _seconds(when: int | datetime) -> int:
    """Unix seconds from an int or a timezone-aware datetime."""
    if isinstance(when, datetime):
        if when.tzinfo is None:
            raise ValueError("datetime must be timezone-aware")
        return int(when.timestamp())
    return int(when)
