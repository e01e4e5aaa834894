"""Keep query strings and user info out of httpx's own request log lines."""

import logging

import httpx

from governor.outbound.tracing import safe_url


class _DropQueries(logging.Filter):
    """Replace every URL argument of a log record with its query-free form."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                safe_url(arg) if isinstance(arg, httpx.URL) else arg for arg in record.args
            )
        return True


_FILTER = _DropQueries()


def redact_httpx_logs() -> None:
    """Install the filter on the 'httpx' logger (once; harmless for other users of httpx)."""
    logger = logging.getLogger("httpx")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
