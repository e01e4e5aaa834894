"""The task engine: registry, scheduler, leases, executors, gate."""
