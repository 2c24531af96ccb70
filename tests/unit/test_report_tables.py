"""Report tables: means with t intervals over seeds, reasons for unavailable metrics,
paired comparisons, and the best value per column."""

import math

import numpy as np
import pytest
from scipy import stats

from pipeline_src.report.stats import mean_ci
from pipeline_src.report.tables import (baseline_rows, best_variants, differing_options, paired_comparisons, summarise,
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
    assert "real data (test vs train)" in md and "0.5" in md
    assert "mode_collapse 1/3" in md


def test_a_metric_no_variant_has_is_a_line_under_the_table_and_one_some_lack_points_to_a_note():
    def markdown(runs):
        return to_markdown(report_tables(summarise(runs, VARIANTS), baseline_rows({}), paired_comparisons(runs, [])))

    nowhere = markdown(RUNS)  # no run has FID: no column of "unavailable" cells
    header = next(line for line in nowhere.splitlines() if line.startswith("| variant"))
    assert "| fd_classifier |" in header and "| fid |" not in header and "unavailable [" not in nowhere
    assert "Unavailable for every variant: fid (no Inception weights here)." in nowhere
    some = markdown([r if r["variant"] == "mm" else {**r, "fid": 20.0 + r["seed"], "unavailable": {}} for r in RUNS])
    assert "| unavailable [1] | " in some and "[1] unavailable: no Inception weights here" in some  # the reason once
    assert "| 21 ±" in some


def test_the_best_variant_of_each_dataset_has_the_lowest_mean_selection_score():
    def scored(variant, dataset, scores):
        return [{"variant": variant, "dataset": dataset, "seed": s, "select_metric": "fd_classifier",
                 "select_samples": 2000, "select_score": x} for s, x in enumerate(scores)]

    runs = (scored("a", "digits", [3.0, 1.0]) + scored("b", "digits", [2.5, 2.0]) + scored("c", "ring8", [0.2])
            + [{"variant": "d", "dataset": "ring8", "seed": 0, "select_metric": None, "select_samples": 2000,
                "select_score": None}])  # no score (its extractor unavailable): not ranked
    best = best_variants(runs)
    assert [(b["dataset"], b["variant"], b["score"], b["seeds"], b["of"]) for b in best] == \
        [("digits", "a", 2.0, 2, 2), ("ring8", "c", 0.2, 1, 1)]
