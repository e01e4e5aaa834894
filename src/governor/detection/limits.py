"""The values detectors learn from: finite, and small enough for their squares to stay finite."""

LARGEST = 1e100
"""Points beyond ±LARGEST (and NaN, ±inf) are treated as missing: scored 0, not learnt."""
