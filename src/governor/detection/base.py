"""The detector protocol, the registry of named detectors, and scoring a whole series."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any, ClassVar, Protocol, Self

from governor.detection.gaussian import WindowedGaussian
from governor.detection.records import RecordsDetector


class Detector(Protocol):
    """A streaming anomaly detector: each point's score depends on it and earlier points only."""

    name: ClassVar[str]

    def update(self, timestamp: datetime, value: float) -> float:
        """Learn one point (naive timestamps are UTC) and return its anomaly score in [0, 1]."""
        ...

    def state(self) -> dict[str, Any]:
        """All the detector has learnt, as JSON-ready values, with its name under "detector"."""
        ...

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Self:
        """The detector `state()` described; it goes on exactly as the original would have."""
        ...


DETECTORS: dict[str, type[Detector]] = {
    RecordsDetector.name: RecordsDetector,
    WindowedGaussian.name: WindowedGaussian,
}
DEFAULT_DETECTOR = RecordsDetector.name


def _known(name: object) -> type[Detector]:
    if name not in DETECTORS:
        raise ValueError(f"unknown detector {name!r}; known detectors: {', '.join(DETECTORS)}")
    return DETECTORS[str(name)]


def make_detector(name: str = DEFAULT_DETECTOR) -> Detector:
    """A fresh detector of that name."""
    return _known(name)()


def restore_detector(state: dict[str, Any]) -> Detector:
    """The detector a `state()` came from, ready to take the next point."""
    return _known(state.get("detector")).from_state(state)


def score_series(
    timestamps: Iterable[datetime], values: Iterable[float], detector: Detector | None = None
) -> list[float]:
    """Every point's score, in order, from `detector` (a fresh default one if None)."""
    update = (detector or make_detector()).update
    return [update(timestamp, value) for timestamp, value in zip(timestamps, values, strict=True)]
