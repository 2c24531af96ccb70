"""Metrics of the synthetic datasets, as pure functions of generated points.

Mixtures (ring8, grid25) follow the VEEGAN/PacGAN protocol (2500 samples in
the papers): each point is assigned to its nearest mode, and counts as high
quality when it lies within `threshold` (3) standard deviations of that mode.
  modes_covered       number of modes with at least one high-quality point
  high_quality        fraction of all points that are high quality
  reverse_kl          KL(q || p) between the mode histogram q of the high-quality
                      points and the true mode weights p (uniform): 0 when every
                      mode gets its share, log K when all points sit on one mode
1-D Gaussian (gauss1d): mean, std, the Kolmogorov-Smirnov statistic and the
Wasserstein-1 distance to N(mean, std).
sliced_w1 (any point data): the mean over random directions of the 1-D
Wasserstein-1 distance between the projections; what `evaluate` ranks the
snapshots of a gauss1d run by.
mode_js (mixtures): the Jensen-Shannon divergence (nats, at most log 2) between
the histogram of generated points over the K modes plus one "off every mode"
bin (beyond the high-quality radius) and the same histogram of the true
mixture; 0 for a perfect generator, it grows with missing or unbalanced modes
and with off-mode points alike: what `evaluate` ranks a mixture run's snapshots
by (a distance such as sliced W1 cannot tell a sharp G from a blurred one at
these scales within its sampling noise).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from pipeline_src.datasets import DatasetSpec
from pipeline_src.metrics import COUNT, HIGHER, LOWER, TARGET, registers


def assign_modes(points: np.ndarray, centres: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Nearest mode of each point (n,) and its distance in units of sigma (n,)."""
    points = np.asarray(points, dtype=np.float64)
    d2 = ((points[:, None, :] - centres[None, :, :]) ** 2).sum(-1)  # (n, K)
    nearest = d2.argmin(axis=1)
    return nearest, np.sqrt(d2[np.arange(len(points)), nearest]) / sigma


@registers("points", modes_covered=HIGHER, n_modes=COUNT, high_quality=HIGHER, reverse_kl=LOWER)
def mode_metrics(points: np.ndarray, centres: np.ndarray, sigma: float, threshold: float = 3.0) -> dict:
    nearest, dist = assign_modes(points, centres, sigma)
    good = dist < threshold
    counts = np.bincount(nearest[good], minlength=len(centres))  # high-quality points per mode
    n_good = int(counts.sum())
    if n_good:
        q = counts / n_good
        p = np.full(len(centres), 1.0 / len(centres))
        nz = q > 0
        reverse_kl = float(np.sum(q[nz] * np.log(q[nz] / p[nz])))
    else:
        reverse_kl = None  # no high-quality point: the histogram is undefined
    return {
        "modes_covered": int((counts > 0).sum()),
        "n_modes": int(len(centres)),
        "high_quality": n_good / len(points),
        "reverse_kl": reverse_kl,
        "mode_counts": counts.tolist(),
    }


def mode_js(points: np.ndarray, centres: np.ndarray, sigma: float, threshold: float = 3.0) -> float:
    """Jensen-Shannon divergence of the (K modes + off-mode) histograms of `points` and of the truth."""
    nearest, dist = assign_modes(points, centres, sigma)
    k = len(centres)
    q = np.bincount(np.where(dist < threshold, nearest, k), minlength=k + 1) / len(points)
    off = float(special.chdtrc(centres.shape[1], threshold ** 2))  # true mass beyond the radius
    p = np.append(np.full(k, (1.0 - off) / k), off)
    m = (p + q) / 2

    def kl(a: np.ndarray) -> float:
        nz = a > 0
        return float(np.sum(a[nz] * np.log(a[nz] / m[nz])))

    return 0.5 * (kl(p) + kl(q))


@registers("points", mean=TARGET, std=TARGET, ks=LOWER, w1=LOWER)
def gaussian_metrics(samples: np.ndarray, mean: float, std: float) -> dict:
    from scipy import stats  # here, not at the top: 1 s of imports a mixture's evaluate does not need

    x = np.sort(np.asarray(samples, dtype=np.float64).ravel())
    n = len(x)
    target = stats.norm(loc=mean, scale=std)
    # W1 to the continuous target via its quantiles at (i - 1/2) / n: the exact W1
    # between the sample and an n-point quantile discretisation of the target
    quantiles = target.ppf((np.arange(n) + 0.5) / n)
    return {
        "mean": float(x.mean()),
        "std": float(x.std(ddof=1)),
        "ks": float(stats.kstest(x, target.cdf).statistic),
        "w1": float(np.abs(x - quantiles).mean()),
    }


def toy_metrics(spec: DatasetSpec, options: dict, points: np.ndarray, threshold: float) -> dict:
    """The metrics of one point dataset (options: its `datasets.<name>` params), flat:
    a mixture's per-mode counts are left out."""
    if spec.gaussian is not None:
        return gaussian_metrics(points, *spec.gaussian(options))
    metrics = mode_metrics(points, *spec.modes(options), threshold)
    metrics.pop("mode_counts")  # a list: the metrics file stays flat
    return metrics


@registers("points", sliced_w1=LOWER)
def sliced_w1(a: np.ndarray, b: np.ndarray, n_directions: int = 64, seed: int = 0) -> float:
    """Sliced Wasserstein-1 distance between two equally sized point sets (n, D): exact W1 in 1-D."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"sliced_w1 needs equally sized sets, got {a.shape} and {b.shape}")
    if a.shape[1] == 1:
        directions = np.ones((1, 1))
    else:
        directions = np.random.default_rng(seed).standard_normal((n_directions, a.shape[1]))
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    pa, pb = np.sort(a @ directions.T, axis=0), np.sort(b @ directions.T, axis=0)  # (n, directions)
    return float(np.abs(pa - pb).mean())
