"""Metrics as pure functions: frechet (FID's distance), images (feature-space metrics), toys."""


def is_number(value) -> bool:
    """A metric value: int or float, not a flag (bool is an int in Python)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)
