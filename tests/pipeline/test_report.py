"""Stage `report`: tables over every run of params.yaml, from the metrics files."""

from __future__ import annotations

import pandas as pd

from tests.conftest import tiny_params
from tests.pipeline.test_train import prepared, train


def test_report_tables_cover_every_variant_and_the_named_comparison(tmp_path, run_stage):
    params = tiny_params()
    params["variants"] = {k: params["variants"][k] for k in ("ns_toy_ring8", "ns_toy_gauss1d")}
    params["variants"]["lr_ring8"] = {**params["variants"]["ns_toy_ring8"], "lr_g": 1e-3}
    params["report"]["comparisons"] = [["ns_toy_ring8", "lr_ring8"]]
    ws = prepared(run_stage, tmp_path, params, "ring8", "gauss1d")
    for dataset in ("ring8", "gauss1d"):
        run_stage(ws, "classifier", "--dataset", dataset)
        run_stage(ws, "reference", "--dataset", dataset)
    for variant in params["variants"]:
        for seed in params["train"]["seeds"]:
            train(run_stage, ws, variant, seed)
            run_stage(ws, "evaluate", "--variant", variant, "--seed", str(seed))
    run_stage(ws, "report")
    summary = pd.read_csv(ws / "results/report/summary.csv")
    assert list(summary["variant"]) == list(params["variants"])
    assert set(summary["n_seeds"]) == {2}
    assert summary.set_index("variant").loc["ns_toy_gauss1d", "modes_covered_unavailable"] \
        == "not computed for this dataset"
    assert "lr_g" in summary.columns  # the option that differs between variants
    comparisons = pd.read_csv(ws / "results/report/comparisons.csv")
    assert set(comparisons["metric"]) >= {"modes_covered", "high_quality"}
    md = (ws / "results/report/summary.md").read_text()
    assert "real data (test split vs the true distribution)" in md and "Paired comparisons" in md


def test_report_before_evaluate_exits_2_naming_the_file(tmp_path, run_stage):
    params = tiny_params()
    ws = prepared(run_stage, tmp_path, params)
    result = run_stage(ws, "report", check=False)
    assert result.returncode == 2 and "results/metrics/mm_mlp_digits/seed0.json: missing" in result.stderr
    assert not (ws / "results/report").exists()


def test_a_comparison_naming_an_unknown_variant_is_refused(tmp_path, run_stage):
    params = tiny_params()
    params["report"]["comparisons"] = [["mm_mlp_digits", "typo"]]
    ws = prepared(run_stage, tmp_path, params)
    result = run_stage(ws, "report", check=False)
    assert result.returncode == 2 and "report.comparisons.0: 'typo' is not a key of `variants`" in result.stderr
