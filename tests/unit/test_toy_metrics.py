"""Toy metrics on hand-made point sets with known answers."""

import math

import numpy as np
import pytest

from pipeline_src.datasets.toys import grid25, grid25_centres, ring8, ring8_centres
from pipeline_src.metrics.toys import gaussian_metrics, mode_metrics

RING = ring8_centres(1.0)
SIGMA = 0.01


def test_real_data_covers_every_mode_with_high_quality():
    x, _ = ring8(2500, np.random.default_rng(0), radius=1.0, sigma=SIGMA)
    m = mode_metrics(x, RING, SIGMA)
    assert m["modes_covered"] == 8
    # 2-D Gaussian: P(r < 3 sigma) = 1 - exp(-4.5) = 98.9%
    assert m["high_quality"] == pytest.approx(1 - math.exp(-4.5), abs=0.01)
    assert m["reverse_kl"] < 0.01  # 2500 points: sampling noise only


def test_all_points_on_one_mode():
    x = np.repeat(RING[:1], 100, axis=0)
    m = mode_metrics(x, RING, SIGMA)
    assert m["modes_covered"] == 1 and m["high_quality"] == 1.0
    assert m["reverse_kl"] == pytest.approx(math.log(8))
    assert m["mode_counts"] == [100] + [0] * 7


def test_off_mode_noise_is_not_high_quality():
    on = np.repeat(RING, 10, axis=0)  # 80 exact mode centres
    off = np.zeros((20, 2))  # the centre of the ring: 1 = 100 sigma away from every mode
    m = mode_metrics(np.concatenate([on, off]), RING, SIGMA)
    assert m["modes_covered"] == 8
    assert m["high_quality"] == pytest.approx(0.8)
    assert m["reverse_kl"] == pytest.approx(0.0, abs=1e-12)


def test_three_sigma_is_the_boundary():
    x = RING[:1] + np.array([[2.9 * SIGMA, 0.0], [3.1 * SIGMA, 0.0]])
    assert mode_metrics(x, RING, SIGMA)["high_quality"] == 0.5


def test_no_high_quality_point_leaves_reverse_kl_undefined():
    m = mode_metrics(np.zeros((5, 2)), RING, SIGMA)
    assert m["modes_covered"] == 0 and m["high_quality"] == 0 and m["reverse_kl"] is None


def test_half_the_grid():
    centres = grid25_centres(2.0)
    x = np.repeat(centres[:12], 4, axis=0) + 0.01
    m = mode_metrics(x, centres, 0.05)
    assert m["modes_covered"] == 12
    assert m["reverse_kl"] == pytest.approx(math.log(25 / 12))


def test_gaussian_metrics_of_the_target_itself():
    x = np.random.default_rng(0).normal(4.0, 1.25, 20_000)
    m = gaussian_metrics(x, 4.0, 1.25)
    # n = 20k: mean s.e. 0.009, std s.e. 0.006, KS ~ 1/sqrt(n) scale 0.007
    assert m["mean"] == pytest.approx(4.0, abs=0.04) and m["std"] == pytest.approx(1.25, abs=0.03)
    assert m["ks"] < 0.015 and m["w1"] < 0.03


def test_gaussian_metrics_of_a_shifted_sample():
    x = np.random.default_rng(1).normal(5.0, 1.25, 20_000)
    m = gaussian_metrics(x, 4.0, 1.25)
    assert m["w1"] == pytest.approx(1.0, abs=0.03)  # W1 between N(5, s) and N(4, s) is 1
    # KS between N(5, s) and N(4, s): 2 Phi(0.5 / 1.25) - 1 = 0.311
    assert m["ks"] == pytest.approx(0.311, abs=0.015)


def test_grid_samples_cover_all_25():
    x, _ = grid25(2500, np.random.default_rng(3), spacing=2.0, sigma=0.05)
    assert mode_metrics(x, grid25_centres(2.0), 0.05)["modes_covered"] == 25


def test_mode_js_is_zero_for_the_true_histogram_and_grows_with_blur_and_missing_modes():
    from pipeline_src.metrics.toys import mode_js

    centres = np.array([[0.0, 0.0], [10.0, 0.0]])
    sigma, rng = 0.1, np.random.default_rng(0)
    def mixture(n, scale=1.0, weights=(0.5, 0.5)):
        idx = rng.choice(2, size=n, p=weights)
        return centres[idx] + rng.normal(scale=sigma * scale, size=(n, 2))
    exact = mode_js(mixture(200_000), centres, sigma)
    assert exact < 1e-4  # sampling noise only: the off-mode bin holds exp(-4.5) of the mass
    blurred, one_mode = mode_js(mixture(20_000, scale=2.0), centres, sigma), mode_js(
        mixture(20_000, weights=(1.0, 0.0)), centres, sigma)
    assert exact < blurred < np.log(2) and exact < one_mode < np.log(2)
    far = mode_js(np.full((100, 2), 5.0), centres, sigma)  # every point off every mode
    assert one_mode < far <= np.log(2)
