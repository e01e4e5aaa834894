"""Helpers for the tests (and benchmarks): throw-away servers on loopback."""
