"""DVC beyond `repro`: a local-directory remote (push, pull), quick ablations with
`dvc exp run -S`, and the run diagnostics as DVC metrics."""

from __future__ import annotations

import json
import shutil

from tests.conftest import run, sha256, tiny_params, write_params


def one_run_params() -> dict:
    params = tiny_params()
    params["datasets"] = {"ring8": params["datasets"]["ring8"]}
    params["variants"] = {"ns_toy_ring8": params["variants"]["ns_toy_ring8"]}
    params["train"]["seeds"] = [0]
    return params


def commit_all(ws, message: str) -> None:
    run(["git", "add", "-A"], cwd=ws)
    run(["git", "commit", "-q", "-m", message], cwd=ws)


def test_local_remote_push_and_pull_restore_data_and_checkpoints(tmp_path, workspace):
    write_params(workspace, one_run_params())
    run(["dvc", "repro"], cwd=workspace)
    outputs = ["results/data/ring8/train.pt", "results/runs/ns_toy_ring8/seed0/checkpoint.pt",
               "results/runs/ns_toy_ring8/seed0/generator.pt"]
    before = {p: sha256(workspace / p) for p in outputs}
    remote = tmp_path / "remote"
    run(["dvc", "remote", "add", "-d", "local", str(remote)], cwd=workspace)
    run(["dvc", "push"], cwd=workspace)
    assert any(remote.rglob("*")), "nothing was pushed"

    # a second machine: the same commit, no outputs, no cache
    clone = tmp_path / "clone"
    commit_all(workspace, "pipeline run")
    run(["git", "clone", "-q", str(workspace), str(clone)], cwd=tmp_path)
    shutil.rmtree(clone / ".dvc" / "cache", ignore_errors=True)
    run(["dvc", "pull"], cwd=clone)
    assert {p: sha256(clone / p) for p in outputs} == before
    assert "Data and pipelines are up to date" in run(["dvc", "status"], cwd=clone).stdout


def test_exp_run_with_a_changed_param_retrains_that_variant(workspace):
    write_params(workspace, one_run_params())
    run(["dvc", "repro"], cwd=workspace)
    commit_all(workspace, "baseline")
    # `++` sets the key whether or not the variant already overrides it (Hydra syntax)
    out = run(["dvc", "exp", "run", "-S", "++variants.ns_toy_ring8.lr_g=0.001"], cwd=workspace)
    assert "Running stage 'train@ns_toy_ring8-0'" in out.stdout
    assert "Running stage 'prepare@ring8'" not in out.stdout  # the data stages are reused
    options = json.loads((workspace / "results/runs/ns_toy_ring8/seed0/options.json").read_text())
    assert options["options"]["lr_g"] == 0.001
    shown = json.loads(run(["dvc", "exp", "show", "--json"], cwd=workspace).stdout)
    assert "0.001" in json.dumps(shown)


def test_run_diagnostics_are_dvc_metrics(workspace):
    write_params(workspace, one_run_params())
    run(["dvc", "repro"], cwd=workspace)
    metrics = json.loads(run(["dvc", "metrics", "show", "--json"], cwd=workspace).stdout)
    text = json.dumps(metrics)
    assert "results/runs/ns_toy_ring8/seed0/diagnostics.json" in text and "oscillation" in text


def test_metrics_and_plots_diff_show_the_changed_variant_old_and_new(workspace):
    params = one_run_params()
    params["variants"]["slow_ring8"] = {**params["variants"]["ns_toy_ring8"], "lr_g": 1e-4}
    write_params(workspace, params)
    run(["dvc", "repro"], cwd=workspace)
    commit_all(workspace, "baseline")
    params["variants"]["slow_ring8"]["lr_g"] = 1e-3
    write_params(workspace, params)
    run(["dvc", "repro"], cwd=workspace)

    diff = json.loads(run(["dvc", "metrics", "diff", "--json"], cwd=workspace).stdout)
    changed = "results/metrics/slow_ring8/seed0.json"
    assert changed in diff and "results/metrics/ns_toy_ring8/seed0.json" not in diff  # unchanged: not listed
    # 20 steps: the mode metrics may stay at 0 both times; the sliced W1 to the truth always moves
    moved = diff[changed]["sliced_w1"]
    assert set(moved) >= {"old", "new"} and isinstance(moved["old"], float) and moved["old"] != moved["new"]

    # offline: the JSON of `dvc plots diff` (its HTML loads the Vega renderer from a CDN)
    plots = json.loads(run(["dvc", "plots", "diff", "--json"], cwd=workspace).stdout)["data"]
    curve = plots["results/runs/slow_ring8/seed0/log.csv"][0]
    assert set(curve["revisions"]) == {"HEAD", "workspace"}
    assert {"results/report/figures/losses.png", "results/report/figures/samples_ring8.png"} <= set(plots)


def test_dvc_parses_yaml_with_the_c_loader():
    # dvc.lock is loaded twice per stage; ruamel.yaml >= 0.19 falls back to its pure-Python
    # parser unless ruamel.yaml.clib is installed (a dependency in pyproject.toml for this)
    from ruamel.yaml import YAML

    assert YAML(typ="safe").Parser.__name__ == "CParser"
