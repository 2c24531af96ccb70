"""Class coverage and the feature-space metrics on hand-made features."""

import math

import numpy as np
import pytest

from pipeline_src.metrics.images import class_coverage, classifier_metrics, inception_metrics, label_histogram

UNIFORM = np.full(10, 0.1)


def test_every_class_in_its_real_share_is_covered_with_zero_kl():
    predicted = np.repeat(np.arange(10), 100)
    m = class_coverage(predicted, UNIFORM)
    assert m["classes_covered"] == 10 and m["n_classes"] == 10
    assert m["class_kl"] == pytest.approx(0.0, abs=1e-12)


def test_one_class_only_is_full_collapse_with_kl_log_k():
    m = class_coverage(np.full(1000, 3), UNIFORM)
    assert m["classes_covered"] == 1
    assert m["class_kl"] == pytest.approx(math.log(10))


def test_a_few_stray_samples_do_not_cover_a_class():
    # 9 classes share 9998 samples; class 9 gets 2 (0.02%, far below 10% of its 10% share)
    predicted = np.concatenate([np.repeat(np.arange(9), 1111)[:9998], [9, 9]])
    assert class_coverage(predicted, UNIFORM)["classes_covered"] == 9


def test_label_histogram_sums_to_one_over_all_classes():
    h = label_histogram(np.array([0, 0, 2]), 4)
    assert h.tolist() == pytest.approx([2 / 3, 0, 1 / 3, 0])


def test_fd_classifier_is_zero_for_the_reference_features_themselves():
    rng = np.random.default_rng(0)
    features = rng.standard_normal((500, 16))
    labels = rng.integers(0, 10, 500)
    ref = {"mu": features.mean(0), "sigma": np.cov(features, rowvar=False), "class_hist": label_histogram(labels, 10)}
    m = classifier_metrics(features, labels, ref)
    assert m["fd_classifier"] == pytest.approx(0.0, abs=1e-9)
    assert m["classes_covered"] == 10 and m["class_kl"] == pytest.approx(0.0, abs=1e-12)


def inception_reference(features):
    return {"mu": features.mean(0), "sigma": np.cov(features, rowvar=False), "features": features.astype(np.float32)}


def test_inception_metrics_of_the_real_set_itself_are_at_their_best():
    rng = np.random.default_rng(1)
    pool3 = rng.standard_normal((300, 32))
    logits = rng.standard_normal((300, 1008))
    m = inception_metrics(pool3, logits, inception_reference(pool3))
    assert m["fid"] == pytest.approx(0.0, abs=1e-9)
    assert m["precision"] == 1.0 and m["recall"] == 1.0  # every point lies in its own k-NN ball
    assert m["kid_subset_size"] == 300  # KID subsets shrink to the sample size
    assert 1.0 <= m["inception_score"] <= 1008


def test_kid_is_near_zero_for_two_samples_of_one_distribution():
    rng = np.random.default_rng(3)
    real, fake = rng.standard_normal((400, 32)), rng.standard_normal((400, 32))
    m = inception_metrics(fake, rng.standard_normal((400, 1008)), inception_reference(real))
    assert abs(m["kid"]) < 0.02  # unbiased: scatters around 0 (a shift by 3 gives > 0.1 below)


def test_inception_metrics_see_a_shifted_distribution():
    rng = np.random.default_rng(2)
    real = rng.standard_normal((400, 32))
    fake = rng.standard_normal((400, 32)) + 3.0
    m = inception_metrics(fake, rng.standard_normal((400, 1008)), inception_reference(real))
    assert m["fid"] == pytest.approx(32 * 9, rel=0.15)  # ||mu1 - mu2||^2 = 32 * 3^2, equal covariances
    assert m["kid"] > 0.1
    assert m["precision"] < 0.2 and m["recall"] < 0.2
