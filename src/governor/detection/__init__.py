"""Streaming anomaly detection: named detectors scoring each point of a series in [0, 1]."""

from governor.detection.base import (
    DEFAULT_DETECTOR,
    DETECTORS,
    Detector,
    make_detector,
    restore_detector,
    score_series,
)

__all__ = [
    "DEFAULT_DETECTOR",
    "DETECTORS",
    "Detector",
    "make_detector",
    "restore_detector",
    "score_series",
]
