"""The synthetic point datasets: pure functions of (n, options, rng).

Each returns x (n, D) float32 and y (n,) int64, the index of the mixture
component a point was drawn from (0 for the single Gaussian).
"""

from __future__ import annotations

import numpy as np


def ring8_centres(radius: float) -> np.ndarray:
    """(8, 2) means evenly spaced on a circle, the first at angle 0."""
    angles = 2 * np.pi * np.arange(8) / 8
    return np.stack([radius * np.cos(angles), radius * np.sin(angles)], axis=1)


def grid25_centres(spacing: float) -> np.ndarray:
    """(25, 2) means {-2, -1, 0, 1, 2} * spacing in each coordinate, row-major."""
    ticks = (np.arange(5) - 2) * spacing
    gx, gy = np.meshgrid(ticks, ticks, indexing="ij")
    return np.stack([gx.ravel(), gy.ravel()], axis=1)


def centres(dataset: str, options: dict) -> np.ndarray:
    """The component means of a point dataset from its `datasets.<name>` params: (K, D)."""
    if dataset == "gauss1d":
        return np.array([[options["mean"]]])
    if dataset == "ring8":
        return ring8_centres(options["radius"])
    if dataset == "grid25":
        return grid25_centres(options["spacing"])
    raise ValueError(f"{dataset!r} is not a point dataset")


def mixture(n: int, centres: np.ndarray, sigma: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n points from the equal-weight isotropic Gaussian mixture with these centres."""
    y = rng.integers(0, len(centres), size=n)
    x = centres[y] + sigma * rng.standard_normal((n, centres.shape[1]))
    return x.astype(np.float32), y.astype(np.int64)


def gauss1d(n: int, rng: np.random.Generator, mean: float, std: float) -> tuple[np.ndarray, np.ndarray]:
    return mixture(n, np.array([[mean]]), std, rng)


def ring8(n: int, rng: np.random.Generator, radius: float, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    return mixture(n, ring8_centres(radius), sigma, rng)


def grid25(n: int, rng: np.random.Generator, spacing: float, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    return mixture(n, grid25_centres(spacing), sigma, rng)


SAMPLERS = {"gauss1d": gauss1d, "ring8": ring8, "grid25": grid25}


def sample(dataset: str, options: dict, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n points of a point dataset from its `datasets.<name>` params (sizes ignored)."""
    shape = {k: v for k, v in options.items() if k not in ("n_train", "n_test")}
    return SAMPLERS[dataset](n, rng, **shape)
