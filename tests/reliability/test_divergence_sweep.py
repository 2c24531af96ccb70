"""A variant that diverges (an absurd learning rate) inside a sweep, under both drivers: its run
stops cleanly with finite last-good weights, is flagged `diverged` in its metrics JSON and in the
report, and the driver finishes every other job without --keep-going (the stage exits 0)."""

from __future__ import annotations

import csv
import json
import math

import pytest
import torch

from tests.conftest import assert_sweep_complete, run, tiny_params, write_params

DIVERGES, HEALTHY = "absurd_ring8", "ns_ring8"


def sweep_params() -> dict:
    params = tiny_params()
    params["datasets"] = {"ring8": params["datasets"]["ring8"]}
    params["train"].update(seeds=[0, 1], steps=40, log_every=5, checkpoint_every=5, snapshot_every=10)
    base = {"dataset": "ring8", "model": "toy_mlp", "z_dim": 2}
    params["variants"] = {
        # WGAN without its penalty and a step of 1e12: the critic's outputs overflow within a few steps
        DIVERGES: {**base, "loss": "wgan_gp", "gp_weight": 0.0, "lr_d": 1e12, "lr_g": 1e12},
        HEALTHY: {**base, "loss": "non_saturating"},
    }
    return params


@pytest.mark.parametrize("driver", [["snakemake", "--cores", "2"], ["dvc", "repro"]], ids=["snakemake", "dvc"])
def test_a_diverging_variant_is_flagged_and_the_rest_of_the_sweep_finishes(workspace, driver):
    params = sweep_params()
    write_params(workspace, params)
    run(driver, workspace, timeout=900)  # exits 0: a diverged run is a result, not a failed job
    assert_sweep_complete(workspace, params)

    for seed in params["train"]["seeds"]:
        bad = json.loads((workspace / f"results/metrics/{DIVERGES}/seed{seed}.json").read_text())
        good = json.loads((workspace / f"results/metrics/{HEALTHY}/seed{seed}.json").read_text())
        assert bad["diverged"] is True and good["diverged"] is False
        assert all(math.isfinite(good[k]) for k in ("modes_covered", "high_quality"))
        folder = workspace / f"results/runs/{DIVERGES}/seed{seed}"
        diagnostics = json.loads((folder / "diagnostics.json").read_text())
        assert diagnostics["diverged"] is True and diagnostics["diverged_at_step"] <= params["train"]["steps"]
        saved = torch.load(folder / "generator.pt", weights_only=False)
        assert all(torch.isfinite(t).all() for t in saved["state_dict"].values())  # the last good weights

    with (workspace / "results/report/summary.csv").open(newline="") as f:
        rows = {row["variant"]: row for row in csv.DictReader(f)}
    assert float(rows[DIVERGES]["diverged"]) == 2 and float(rows[HEALTHY]["diverged"]) == 0
    summary = (workspace / "results/report/summary.md").read_text()
    assert "diverged 2/2" in summary
    assert "diverged" not in next(line for line in summary.splitlines() if line.startswith(f"| {HEALTHY} "))
