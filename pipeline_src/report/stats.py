"""Statistics over seeds, one implementation each: a mean with its standard error or its
Student-t confidence interval, and the paired t-test of two variants over the seeds both ran."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats


def t_quantile(level: float, dof):
    """The two-sided Student-t factor of a `level` interval (dof may be an array)."""
    return stats.t.ppf(0.5 + level / 2, dof)


def mean_se(values: list[float]) -> tuple[float, float | None]:
    """Mean and its standard error (None for one value)."""
    x = np.asarray(values, dtype=np.float64)
    return float(x.mean()), (float(x.std(ddof=1) / math.sqrt(len(x))) if len(x) > 1 else None)


def mean_ci(values: list[float], level: float = 0.95) -> tuple[float, float | None]:
    """Mean and the half-width of its t confidence interval (None for one value)."""
    mean, se = mean_se(values)
    return mean, (None if se is None else float(t_quantile(level, len(values) - 1) * se))


def paired_p(b: np.ndarray, a: np.ndarray) -> float:
    """Two-sided paired t-test p-value of b against a, seed by seed; NaN below two pairs or
    when every pair is equal (the test is undefined there)."""
    return float(stats.ttest_rel(b, a).pvalue) if len(a) > 1 and np.any(b != a) else float("nan")
