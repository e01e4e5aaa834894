"""The business metrics Governor watches with its detectors, and what they find."""
