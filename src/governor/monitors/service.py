"""Reading what the monitors found: findings by time and series, for pages and the API."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from governor.models import Finding


def findings(
    session: Session,
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    kind: str | None = None,
    series: str | None = None,
    limit: int = 1000,
) -> list[Finding]:
    """Findings in [since, until), newest first, of one kind or series if given."""
    query = sa.select(Finding).order_by(Finding.at.desc()).limit(limit)
    if since is not None:
        query = query.where(Finding.at >= since)
    if until is not None:
        query = query.where(Finding.at < until)
    if kind is not None:
        query = query.where(Finding.kind == kind)
    if series is not None:
        query = query.where(Finding.series == series)
    return list(session.scalars(query))
