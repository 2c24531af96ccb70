"""The synthetic point datasets: the mixtures the mode-collapse literature uses."""

import numpy as np
import pytest

from pipeline_src import datasets
from pipeline_src.datasets import toys


def rng(seed=0):
    return np.random.default_rng(seed)


def test_ring8_centres_lie_on_the_circle_evenly_spaced():
    c = toys.ring8_centres(radius=1.0)
    assert c.shape == (8, 2)
    np.testing.assert_allclose(np.hypot(c[:, 0], c[:, 1]), 1.0)
    gaps = np.diff(np.unwrap(np.arctan2(c[:, 1], c[:, 0])))
    np.testing.assert_allclose(gaps, 2 * np.pi / 8)


def test_grid25_centres_are_the_pacgan_grid():
    c = toys.grid25_centres(spacing=2.0)
    assert c.shape == (25, 2)
    assert sorted(set(c[:, 0])) == [-4, -2, 0, 2, 4] == sorted(set(c[:, 1]))
    assert len({tuple(p) for p in c}) == 25


@pytest.mark.parametrize("name,options,dim,modes", [
    ("gauss1d", {"mean": 4.0, "std": 1.25}, 1, 1),
    ("ring8", {"radius": 1.0, "sigma": 0.01}, 2, 8),
    ("grid25", {"spacing": 2.0, "sigma": 0.05}, 2, 25),
])
def test_samples_have_shape_dtype_and_labels(name, options, dim, modes):
    x, y = datasets.get(name).sample(4000, options, rng())  # through the registry, as prepare draws them
    assert x.shape == (4000, dim) and x.dtype == np.float32
    assert y.dtype == np.int64 and set(np.unique(y)) == set(range(modes))


def test_gauss1d_matches_target_moments():
    # 200k samples: standard errors 0.003 (mean) and 0.002 (std), so 0.02 is > 6 sigma
    x, _ = toys.gauss1d(200_000, rng(), mean=4.0, std=1.25)
    assert abs(x.mean() - 4.0) < 0.02
    assert abs(x.std() - 1.25) < 0.02


def test_mixture_points_sit_within_3_sigma_of_their_own_mode():
    sigma = 0.05
    x, y = toys.grid25(10_000, rng(), spacing=2.0, sigma=sigma)
    d = np.linalg.norm(x - toys.grid25_centres(2.0)[y], axis=1)
    # for a 2-D isotropic Gaussian, P(r > 3 sigma) = exp(-4.5) = 1.1%; allow 2%
    assert (d > 3 * sigma).mean() < 0.02


def test_same_seed_same_samples_other_seed_other_samples():
    a = toys.ring8(1000, rng(1), radius=1.0, sigma=0.01)
    b = toys.ring8(1000, rng(1), radius=1.0, sigma=0.01)
    c = toys.ring8(1000, rng(2), radius=1.0, sigma=0.01)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
