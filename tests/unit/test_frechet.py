"""The Fréchet distance: zero for identical statistics, agreement with the
reference formula of pytorch-fid, and no NaN/complex results for valid input."""

import numpy as np
import pytest
from scipy import linalg

from pipeline_src.metrics.frechet import _psd_sqrt, frechet_distance, statistics, trace_sqrt_product


def reference_fd(mu1, sigma1, mu2, sigma2, eps=1e-6):
    """pytorch-fid's calculate_frechet_distance formula (sqrtm of the product, eps retry,
    real part), written out here without its removed `disp` argument."""
    diff = mu1 - mu2
    covmean = linalg.sqrtm(sigma1.dot(sigma2))
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    covmean = np.real(covmean)
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def random_stats(rng, n, d, shift=0.0, scale=1.0):
    mix = rng.standard_normal((d, d)) / np.sqrt(d)
    return statistics(rng.standard_normal((n, d)) @ mix * scale + shift)


@pytest.mark.parametrize("d", [2, 64, 256])
def test_agrees_with_the_reference_formula_to_1e_6(d):
    rng = np.random.default_rng(d)
    a, b = random_stats(rng, 4 * d, d), random_stats(rng, 4 * d, d, shift=0.3, scale=1.5)
    ours, ref = frechet_distance(*a, *b), reference_fd(*a, *b)
    # well-conditioned full-rank covariances: sqrtm is accurate here, so the two
    # algorithms should agree to float64 rounding amplified by d; 1e-6 relative is the spec
    assert ours == pytest.approx(ref, rel=1e-6)


def test_zero_for_identical_statistics():
    mu, sigma = random_stats(np.random.default_rng(0), 500, 64)
    assert frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-9)


def test_symmetric_and_only_the_mean_for_equal_covariances():
    rng = np.random.default_rng(1)
    (mu1, s1), (mu2, s2) = random_stats(rng, 300, 32), random_stats(rng, 300, 32, shift=1.0)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(frechet_distance(mu2, s2, mu1, s1), rel=1e-9)
    assert frechet_distance(mu1, s1, mu2, s1) == pytest.approx(float((mu1 - mu2) @ (mu1 - mu2)), rel=1e-9)


def test_one_dimensional_closed_form():
    # (m1 - m2)^2 + (s1 - s2)^2 for 1-D Gaussians with standard deviations s1, s2
    assert frechet_distance([4.0], [[1.25 ** 2]], [3.0], [[0.5 ** 2]]) == pytest.approx(1.0 + 0.75 ** 2)


def test_singular_covariances_give_a_finite_real_number():
    rng = np.random.default_rng(2)
    a, b = random_stats(rng, 20, 128), random_stats(rng, 20, 128, shift=0.1)  # n < d: rank 19
    value = frechet_distance(*a, *b)
    assert isinstance(value, float) and np.isfinite(value) and value >= 0


def test_trace_of_the_root_is_the_same_with_and_without_a_cholesky_factor():
    rng = np.random.default_rng(3)
    (_, full), (_, other) = random_stats(rng, 400, 64), random_stats(rng, 400, 64, scale=2.0)
    root = _psd_sqrt(full)  # the path a singular S1 takes
    by_root = np.sqrt(np.clip(linalg.eigvalsh(root @ other @ root), 0, None)).sum()
    assert trace_sqrt_product(full, other) == pytest.approx(by_root, rel=1e-9)
    (_, singular), _ = random_stats(rng, 20, 64), None  # rank 19: no Cholesky factor
    root = _psd_sqrt(singular)
    by_root = np.sqrt(np.clip(linalg.eigvalsh(root @ other @ root), 0, None)).sum()
    # the 45 null-space eigenvalues are rounding noise (~1e-15) whose square roots add up to
    # ~1e-7 either way: agreement to 1e-7 relative, still far inside FID's 1e-6 spec
    assert trace_sqrt_product(singular, other) == pytest.approx(by_root, rel=1e-7)


def test_rejects_mismatched_or_non_finite_input():
    mu, sigma = np.zeros(3), np.eye(3)
    with pytest.raises(ValueError, match="shapes do not match"):
        frechet_distance(mu, sigma, np.zeros(4), np.eye(4))
    with pytest.raises(ValueError, match="sigma2 has NaN"):
        frechet_distance(mu, sigma, mu, np.full((3, 3), np.nan))
