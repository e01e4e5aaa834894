"""The one list of Governor's own periodic and background work: every domain's jobs module."""


def load() -> None:
    """Register every system task (importing the modules registers them)."""
    import governor.alerts.jobs
    import governor.analytics.jobs
    import governor.audits.jobs
    import governor.fulfilment.jobs
    import governor.monitors.jobs
    import governor.revenue.jobs  # noqa: F401
