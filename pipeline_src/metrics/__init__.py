"""Metrics as pure functions: frechet (FID's distance), images (feature-space metrics), toys.

The metric table: every key a metrics file can hold is registered, by the function that computes
it, with the way it is better and the kind of data it applies to. One name is the registry key,
the key in the metrics file and the column of the report (as in stylegan2-ada's metric registry).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

LOWER, HIGHER = "lower", "higher"  # which way is better
TARGET = "target"  # closeness to a known value (gauss1d's mean and std): neither way is better
SPREAD = "spread"  # a standard deviation over subsets or splits, reported beside its metric
COUNT = "count"  # a size that qualifies the others (classes, modes, a subset's size): no column of its own

# Keys of a metrics file that describe the run and the selected G, not its samples.
RUN_KEYS = frozenset({"seed", "step", "last_step", "n_samples", "select_samples", "select_score",
                      "select_score_last"})


@dataclass(frozen=True)
class Metric:
    name: str
    better: str  # LOWER, HIGHER, TARGET, SPREAD or COUNT
    kind: str  # the data it applies to: "image" or "points"
    function: Callable  # computes it: the function whose result has this key


METRICS: dict[str, Metric] = {}


def registers(kind: str, **better: str) -> Callable:
    """Decorator: the function computes these metrics (name=direction) for this kind of data."""
    def register(function: Callable) -> Callable:
        for name, direction in better.items():
            if name in METRICS:
                raise ValueError(f"metric {name!r} is registered twice")
            METRICS[name] = Metric(name, direction, kind, function)
        return function
    return register


def better_is(direction: str) -> frozenset[str]:
    """The names of the metrics that are better this way (LOWER or HIGHER)."""
    return frozenset(m.name for m in METRICS.values() if m.better == direction)


def computed_by(function: Callable) -> tuple[str, ...]:
    """The metrics `function` computes, in its registration's order (the counts aside)."""
    return tuple(m.name for m in METRICS.values() if m.function is function and m.better != COUNT)


def is_number(value) -> bool:
    """A metric value: int or float, not a flag (bool is an int in Python)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# The modules that register their metrics (at the end: they import the decorator above).
from pipeline_src.metrics import images, toys  # noqa: E402

COMPUTED_BY = (images, toys)
