"""The synthetic point datasets `gauss1d`, `ring8` and `grid25`: pure functions of (n, shape, rng).

Each returns x (n, D) float32 and y (n,) int64, the index of the mixture
component a point was drawn from (0 for the single Gaussian).
"""

from __future__ import annotations

import numpy as np

from pipeline_src.datasets import DatasetSpec, register


def ring8_centres(radius: float) -> np.ndarray:
    """(8, 2) means evenly spaced on a circle, the first at angle 0."""
    angles = 2 * np.pi * np.arange(8) / 8
    return np.stack([radius * np.cos(angles), radius * np.sin(angles)], axis=1)


def grid25_centres(spacing: float) -> np.ndarray:
    """(25, 2) means {-2, -1, 0, 1, 2} * spacing in each coordinate, row-major."""
    ticks = (np.arange(5) - 2) * spacing
    gx, gy = np.meshgrid(ticks, ticks, indexing="ij")
    return np.stack([gx.ravel(), gy.ravel()], axis=1)


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


def _mixture_options(shape: dict) -> dict:
    """The JSON schema of a mixture's or Gaussian's options: its shape and the split sizes."""
    sizes = {"n_train": {"$ref": "#/$defs/positive_int", "default": 50000},
             "n_test": {"$ref": "#/$defs/positive_int", "default": 10000}}
    return {"type": "object", "additionalProperties": False, "properties": {**shape, **sizes}}


register(DatasetSpec(
    "gauss1d", "points", "1-D Gaussian N(mean, std) (the 'GAN in 50 lines' target)", dim=1,
    options=_mixture_options({"mean": {"type": "number", "default": 4.0},
                              "std": {"$ref": "#/$defs/positive_number", "default": 1.25}}),
    sample=lambda n, options, rng: gauss1d(n, rng, options["mean"], options["std"]),
    gaussian=lambda options: (options["mean"], options["std"]),
    selection="sliced_w1",
))


def _mixture_spec(name: str, description: str, k: int, centres, size: str, default: float, sigma: float) -> DatasetSpec:
    """A 2-D mixture of k Gaussians whose centres are `centres(options[size])`, each of std `sigma`."""
    def modes(options: dict) -> tuple[np.ndarray, float]:
        return centres(options[size]), options["sigma"]

    def sample(n: int, options: dict, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        return mixture(n, *modes(options), rng)

    return DatasetSpec(
        name, "points", description, dim=2,
        options=_mixture_options({size: {"$ref": "#/$defs/positive_number", "default": default},
                                  "sigma": {"$ref": "#/$defs/positive_number", "default": sigma}}),
        classes=[f"mode{i}" for i in range(k)], sample=sample, modes=modes, selection="mode_js",
    )


register(_mixture_spec("ring8", "8 Gaussians evenly spaced on a circle (PacGAN/VEEGAN)", 8, ring8_centres,
                       "radius", 1.0, 0.01))
register(_mixture_spec("grid25", "25 Gaussians on a 5x5 grid (PacGAN/VEEGAN)", 25, grid25_centres,
                       "spacing", 2.0, 0.05))
