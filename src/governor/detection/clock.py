"""Timestamps as a count of whole UTC hours, a naive datetime being read as UTC."""

from datetime import datetime


def hour_number(timestamp: datetime) -> int:
    """Hours since 0001-01-01 00:00 UTC: modulo 24 the hour of the day, modulo 168 of the week."""
    if timestamp.tzinfo is not None:
        offset = timestamp.utcoffset()
        if offset:
            timestamp = timestamp - offset  # the same instant, its fields now UTC's
    return timestamp.toordinal() * 24 + timestamp.hour
