"""Audits: checks, canaries, FSAR reports and the gate policy."""
