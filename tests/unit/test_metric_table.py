"""The metric table: each function registers the keys it returns, so a metric's direction and the
data it applies to are stated once, where it is computed, and the report reads them there."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline_src.metrics import COUNT, METRICS, computed_by, registers
from pipeline_src.metrics.images import classifier_metrics, inception_metrics
from pipeline_src.metrics.toys import gaussian_metrics, mode_metrics, sliced_w1
from pipeline_src.report.tables import BOOKKEEPING, HIGHER_IS_BETTER, LOWER_IS_BETTER


def registered(function) -> set[str]:
    return {m.name for m in METRICS.values() if m.function is function}


def test_each_function_returns_exactly_the_metrics_it_registers():
    rng = np.random.default_rng(0)
    features, predicted = rng.normal(size=(40, 4)), rng.integers(0, 3, size=40)
    reference = {"mu": np.zeros(4), "sigma": np.eye(4), "class_hist": np.full(3, 1 / 3), "features": rng.normal(size=(40, 4))}
    assert set(classifier_metrics(features, predicted, reference)) == registered(classifier_metrics)
    logits = rng.normal(size=(40, 5))
    assert set(inception_metrics(features, logits, reference)) == registered(inception_metrics)
    points, centres = rng.normal(size=(50, 2)), np.array([[0.0, 0.0], [1.0, 1.0]])
    # the per-mode counts are a list: toy_metrics leaves them out of the flat metrics file
    assert set(mode_metrics(points, centres, 0.5)) == registered(mode_metrics) | {"mode_counts"}
    assert set(gaussian_metrics(rng.normal(size=50), 0.0, 1.0)) == registered(gaussian_metrics)
    assert registered(sliced_w1) == {"sliced_w1"}


def test_the_report_reads_directions_and_bookkeeping_from_the_table():
    assert {"fid", "fd_classifier", "class_kl", "reverse_kl", "w1"} <= LOWER_IS_BETTER
    assert {"classes_covered", "modes_covered", "high_quality", "precision"} <= HIGHER_IS_BETTER
    assert not LOWER_IS_BETTER & HIGHER_IS_BETTER
    assert {"n_classes", "n_modes", "kid_subset_size"} <= BOOKKEEPING  # the counts: no column of their own
    assert "mean" not in LOWER_IS_BETTER | HIGHER_IS_BETTER  # gauss1d's mean: closeness to a target
    assert computed_by(classifier_metrics) == ("fd_classifier", "classes_covered", "class_kl")
    assert all(METRICS[name].better != COUNT for name in computed_by(inception_metrics))


def test_a_metric_name_is_registered_once():
    with pytest.raises(ValueError, match="'fid' is registered twice"):
        registers("image", fid="lower")(lambda: None)
