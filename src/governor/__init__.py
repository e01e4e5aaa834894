"""Governor: the control plane of an autonomous AI business."""

__version__ = "0.1.0"
