"""Report tables: means with t intervals over seeds, reasons for unavailable metrics,
paired comparisons, and the best value per column."""

import math

import numpy as np
import pytest
from scipy import stats

from pipeline_src.report.stats import mean_ci
from pipeline_src.report.tables import (baseline_rows, differing_options, paired_comparisons, summarise,
                                        report_tables, to_markdown)

VARIANTS = {
    "mm": {"dataset": "digits", "model": "mlp", "loss": "minimax", "lr_g": 2e-4},
    "ns": {"dataset": "digits", "model": "mlp", "loss": "non_saturating", "lr_g": 2e-4},
}


def run(variant, seed, fd, **extra):
    return {"variant": variant, "seed": seed, "dataset": "digits", "step": 10, "n_samples": 32,
            "fd_classifier": fd, "diverged": False, "mode_collapse": seed == 0 and variant == "mm",
            "unavailable": {"fid": "no Inception weights here"}, **extra}


RUNS = [run("mm", s, fd) for s, fd in enumerate([10.0, 12.0, 14.0])] + \
       [run("ns", s, fd) for s, fd in enumerate([5.0, 6.5, 7.0])]


def test_mean_ci_is_the_student_t_half_width():
    mean, ci = mean_ci([10.0, 12.0, 14.0])
    assert mean == 12.0
    assert ci == pytest.approx(stats.t.ppf(0.975, 2) * 2.0 / math.sqrt(3))
    assert mean_ci([3.0]) == (3.0, None)  # one seed: no interval, not a zero-width one


def test_summary_has_one_row_per_variant_with_reasons_for_unavailable_metrics():
    s = summarise(RUNS, VARIANTS)
    assert list(s["variant"]) == ["mm", "ns"] and list(s["n_seeds"]) == [3, 3]
    assert s.loc[0, "fd_classifier"] == 12.0 and s.loc[1, "fd_classifier"] == pytest.approx(6.1666667)
    assert s.loc[0, "fid_unavailable"] == "no Inception weights here" and "fid" not in s.columns
    assert list(s["mode_collapse"]) == [1, 0]


def test_only_the_options_that_differ_are_columns_besides_dataset_model_loss():
    assert differing_options(VARIANTS) == ["loss"]
    assert "lr_g" not in summarise(RUNS, VARIANTS).columns


def test_paired_comparison_is_a_paired_t_test_over_common_seeds():
    c = paired_comparisons(RUNS, [("mm", "ns")])
    row = c[c.metric == "fd_classifier"].iloc[0]
    diffs = np.array([5.0, 6.5, 7.0]) - np.array([10.0, 12.0, 14.0])
    assert row.diff_b_minus_a == pytest.approx(diffs.mean()) and row.n_seeds == 3
    assert row.p_value == pytest.approx(stats.ttest_rel([5.0, 6.5, 7.0], [10.0, 12.0, 14.0]).pvalue)
    assert row.better == "b"  # lower FD, CI excludes 0


def test_markdown_marks_the_best_and_states_unavailable_and_baseline():
    refs = {"digits": {"split": "train", "baseline_split": "test", "baseline": {"fd_classifier": 0.5}}}
    md = to_markdown(report_tables(summarise(RUNS, VARIANTS), baseline_rows(refs),
                                   paired_comparisons(RUNS, [("mm", "ns")])))
    assert "**6.167 ±" in md and "| 12 ±" in md
    assert "| unavailable [1] |" in md and "[1] unavailable: no Inception weights here" in md  # reason once
    assert "real data (test vs train)" in md and "0.5" in md
    assert "mode_collapse 1/3" in md
