"""The early-stopping rule over a run's snapshot scores (lower is better)."""

from __future__ import annotations

import math

import pytest

from pipeline_src.training import early_stop_on
from pipeline_src.training.stopping import PATIENCE, TARGET, stop_reason


def test_patience_counts_the_snapshots_since_the_best_score():
    scores = [5.0, 3.0, 4.0, 3.5]
    assert stop_reason(scores, patience=2, min_delta=0.0, target=None) == PATIENCE
    assert stop_reason(scores, patience=3, min_delta=0.0, target=None) is None
    assert stop_reason(scores + [2.9], patience=2, min_delta=0.0, target=None) is None  # a new best resets it


def test_an_improvement_must_beat_the_best_by_more_than_min_delta():
    scores = [5.0, 4.95, 4.9]  # better, but by 0.05 and 0.1 in all
    assert stop_reason(scores, patience=2, min_delta=0.1, target=None) == PATIENCE
    assert stop_reason(scores, patience=2, min_delta=0.04, target=None) is None
    # the best moves only on a counted improvement: 4.95 did not count, so 4.85 is measured against 5.0
    assert stop_reason([5.0, 4.95, 4.85], patience=2, min_delta=0.1, target=None) is None


def test_a_target_stops_as_soon_as_the_latest_score_reaches_it():
    assert stop_reason([3.0], patience=None, min_delta=0.0, target=3.0) == TARGET
    assert stop_reason([3.0, 2.0, 4.0], patience=None, min_delta=0.0, target=2.5) is None  # the latest counts
    assert stop_reason([3.0, 2.0], patience=5, min_delta=0.0, target=2.5) == TARGET


@pytest.mark.parametrize("bad", [math.inf, math.nan])
def test_a_non_finite_score_never_improves_nor_meets_the_target(bad):
    assert stop_reason([bad, bad], patience=2, min_delta=0.0, target=None) == PATIENCE
    assert stop_reason([bad], patience=None, min_delta=0.0, target=1e300) is None
    assert stop_reason([bad, 1.0], patience=1, min_delta=0.0, target=None) is None  # the first finite one is the best


def test_no_scores_no_stop_and_off_without_patience_or_target():
    assert stop_reason([], patience=1, min_delta=0.0, target=0.0) is None
    assert not early_stop_on({"patience": None, "min_delta": 0.5, "target": None})
    assert early_stop_on({"patience": 3, "min_delta": 0.0, "target": None})
    assert early_stop_on({"patience": None, "min_delta": 0.0, "target": 0.0})
