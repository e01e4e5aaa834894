"""How busy the webhook door is, so that handling the inbox yields to receiving (per process)."""

import time

BUSY_WINDOW_S = 0.1
_last_arrival = 0.0


def note_arrival() -> None:
    """Events were just received."""
    global _last_arrival
    _last_arrival = time.monotonic()


def busy() -> bool:
    """Whether events arrived within the last BUSY_WINDOW_S seconds."""
    return time.monotonic() - _last_arrival < BUSY_WINDOW_S
