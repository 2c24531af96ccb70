"""Switching between the drivers through DVC's run cache: `dvc repro` puts back the outputs of
params it ran before without running the stage ("is cached - skipping run"). Snakemake, which
keeps no record of what DVC wrote, must still see that they are not of its params."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from tests.conftest import run, tiny_params, write_params


def lr_of_run(ws: Path) -> float:
    return json.loads((ws / "results/runs/ns_toy_ring8/seed0/options.json").read_text())["options"]["lr_g"]


@pytest.mark.parametrize("first", ["dvc", "snakemake"])
def test_outputs_restored_from_dvcs_run_cache_are_not_taken_for_snakemakes(workspace, first):
    """DVC's run cache puts back the outputs of params it ran before, without running the stage.
    The params stamp is one of those outputs, so it comes back with them and Snakemake sees
    that they are not of its params. Both orders: DVC first (the cache holds P1 when DVC
    returns to P1), and Snakemake first (DVC then caches P2 and restores it later)."""
    params = tiny_params()
    params["datasets"] = {"ring8": params["datasets"]["ring8"]}
    params["variants"] = {"ns_toy_ring8": params["variants"]["ns_toy_ring8"]}
    params["train"]["seeds"] = [0]
    p1, p2 = copy.deepcopy(params), copy.deepcopy(params)
    p1["variants"]["ns_toy_ring8"]["lr_g"], p2["variants"]["ns_toy_ring8"]["lr_g"] = 0.05, 0.06
    drivers = {"dvc": ["dvc", "repro"], "snakemake": ["snakemake", "--cores", "2"]}
    second = "snakemake" if first == "dvc" else "dvc"

    restored_by_dvc = False
    for driver, p in ((first, p1), (second, p2), (first, p1), (second, p2), (first, p1), ("snakemake", p1)):
        write_params(workspace, p)
        out = run(drivers[driver], cwd=workspace).stdout
        assert lr_of_run(workspace) == p["variants"]["ns_toy_ring8"]["lr_g"], (driver, out)
        restored_by_dvc |= driver == "dvc" and "is cached - skipping run" in out
    assert restored_by_dvc  # the case this test is about happened: outputs put back without a run
    assert "Nothing to be done" in run(["snakemake", "--cores", "2", "-n"], cwd=workspace).stdout
