"""`train.early_stop`: a run scored at every snapshot as evaluate scores it stops once the score
stops improving (patience) or reaches its target, records where and why, resumes after SIGKILL to
the same stop, and leaves evaluate nothing to score again. With early stopping off, nothing changes."""

from __future__ import annotations

import json
import signal

import pytest
import torch

from pipeline_src import selection
from pipeline_src.paths import RunFiles
from tests.conftest import run, tiny_params, write_params
from tests.pipeline.test_drivers import result_files, snakemake_jobs
from tests.pipeline.test_train import _launch, _wait_for_line, prepared, run_folder, train

VARIANT = "ns_toy_gauss1d"
STEPS = 1500


def gauss1d_params(patience=None, min_delta=0.0, target=None) -> dict:
    """The gauss1d run of the learning test, scored every 50 steps (a W1 to N(4, 1.25))."""
    params = tiny_params()
    params["datasets"]["gauss1d"]["n_train"] = 20000
    params["train"].update(steps=STEPS, log_every=50, sample_every=10_000, checkpoint_every=100, snapshot_every=50,
                           lr_g=1e-3, lr_d=1e-3)
    params["train"]["early_stop"] = {"patience": patience, "min_delta": min_delta, "target": target}
    return params


def outcome(folder) -> tuple[int, str]:
    diagnostics = json.loads((folder / "diagnostics.json").read_text())
    options = json.loads((folder / "options.json").read_text())
    assert (options["stop_step"], options["stop_reason"]) == (diagnostics["stop_step"], diagnostics["stop_reason"])
    return diagnostics["stop_step"], diagnostics["stop_reason"]


def scores(folder) -> list[tuple[int, float]]:
    lines = (folder / "scores.csv").read_text().splitlines()
    return [(int(s), float(v)) for s, v in (line.split(",") for line in lines[1:])]


def g_weights(path) -> dict:
    return torch.load(path, weights_only=True)["state_dict"]


def test_patience_stops_a_run_early_where_the_full_run_was_at_that_step(tmp_path, run_stage):
    off = prepared(run_stage, tmp_path / "off", gauss1d_params(), "gauss1d")
    train(run_stage, off, VARIANT)
    assert outcome(run_folder(off, VARIANT)) == (STEPS, "steps")
    assert (run_folder(off, VARIANT) / "scores.csv").read_text() == "step,select_score\n"  # nothing scored

    on = prepared(run_stage, tmp_path / "on", gauss1d_params(patience=3), "gauss1d")
    train(run_stage, on, VARIANT)
    folder = run_folder(on, VARIANT)
    step, reason = outcome(folder)
    assert reason == "patience" and step < STEPS
    scored = scores(folder)
    assert [s for s, _ in scored] == list(range(50, step + 1, 50))
    values = [v for _, v in scored]
    best = values.index(min(values))
    assert len(values) - 1 - best == 3  # three snapshots in a row without a better score, then the stop
    assert int(open(folder / "log.csv").read().splitlines()[-1].split(",")[0]) == step
    # scoring left the run alone: its G at the stop is the full run's G at that step
    stopped = g_weights(folder / "generator.pt")
    full = g_weights(run_folder(off, VARIANT) / f"snapshots/step_{step}.pt")
    assert all(torch.equal(stopped[k], full[k]) for k in full)


def test_a_target_met_at_the_first_snapshot_stops_there(tmp_path, run_stage):
    ws = prepared(run_stage, tmp_path, gauss1d_params(target=1e9), "gauss1d")
    train(run_stage, ws, VARIANT)
    assert outcome(run_folder(ws, VARIANT)) == (50, "target")
    assert [s for s, _ in scores(run_folder(ws, VARIANT))] == [50]


def test_min_delta_asks_for_a_larger_improvement(tmp_path, run_stage):
    """The same run with min_delta above every improvement after the first score stops after `patience`
    snapshots; with min_delta 0 it went on longer."""
    ws = prepared(run_stage, tmp_path, gauss1d_params(patience=2, min_delta=100.0), "gauss1d")
    train(run_stage, ws, VARIANT)
    assert outcome(run_folder(ws, VARIANT)) == (150, "patience")


def test_evaluate_takes_the_scores_train_computed_and_they_are_its_own(tmp_path, run_stage, monkeypatch):
    ws = prepared(run_stage, tmp_path, gauss1d_params(patience=3), "gauss1d")
    for stage in ("classifier", "reference"):
        run_stage(ws, stage, "--dataset", "gauss1d")
    train(run_stage, ws, VARIANT)
    files = RunFiles(VARIANT, 0, ws / "results")

    def recompute(self, g, saved):
        raise AssertionError("evaluate scored a G that train had scored")

    with monkeypatch.context() as m:
        m.setattr(selection.Scorer, "__call__", recompute)
        run_stage(ws, "evaluate", "--variant", VARIANT, "--seed", "0")
    reused = files.steps_csv.read_bytes()
    assert reused == files.scores_csv.read_bytes()
    # computing every score again gives the same bytes: the reuse changed no number
    monkeypatch.setattr(selection.Scorer, "score", selection.Scorer.__call__)
    run_stage(ws, "evaluate", "--variant", VARIANT, "--seed", "0")
    assert files.steps_csv.read_bytes() == reused
    metrics = json.loads(files.metrics.read_text())
    assert metrics["last_step"] == outcome(files.folder)[0] and metrics["step"] <= metrics["last_step"]


@pytest.mark.parametrize("kill_at", [100, 300])
def test_sigkill_during_an_early_stopping_run_resumes_to_the_same_stop(tmp_path, run_stage, kill_at):
    params = gauss1d_params(patience=10)  # stops at step 650 here: the kill lands while it runs
    ref = prepared(run_stage, tmp_path / "ref", params, "gauss1d")
    train(run_stage, ref, VARIANT)
    ws = prepared(run_stage, tmp_path / "killed", params, "gauss1d")
    proc = _launch(ws, VARIANT)
    _wait_for_line(proc, f"step {kill_at}/")
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=60) == -signal.SIGKILL
    a, b = run_folder(ref, VARIANT), run_folder(ws, VARIANT)
    so_far = scores(b)  # scores.csv grows as the run is scored: the killed run's holds those so far
    assert len(so_far) >= kill_at // 50 - 1 and so_far == scores(a)[:len(so_far)]
    resumed = train(run_stage, ws, VARIANT)
    assert "resuming from step" in resumed.stderr
    assert outcome(a) == outcome(b)
    assert (a / "scores.csv").read_bytes() == (b / "scores.csv").read_bytes()
    wa, wb = g_weights(a / "generator.pt"), g_weights(b / "generator.pt")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_both_drivers_stop_the_same_runs_early_and_only_those_wait_for_the_classifier(tmp_path, workspace):
    """An image run stopping early is scored with its dataset's classifier and reference statistics:
    under Snakemake its train job takes them as inputs (and the metric code as sources), while a run
    without early stopping keeps the inputs it had. Both drivers build the same files, and the
    report says where each run ended and the steps saved."""
    params = tiny_params()
    params["datasets"] = {k: params["datasets"][k] for k in ("digits", "ring8")}
    params["variants"] = {k: params["variants"][k] for k in ("ns_mlp_digits", "mm_mlp_digits", "ns_toy_ring8")}
    params["train"]["seeds"] = [0]
    params["variants"]["ns_mlp_digits"]["early_stop"] = {"patience": None, "min_delta": 0.0, "target": 1e9}
    write_params(workspace, params)
    jobs = snakemake_jobs(workspace)
    scoring = {"results/features/digits/classifier.pt", "results/features/digits/reference.npz",
               "pipeline_src/selection.py", "pipeline_src/metrics/images.py"}
    assert scoring <= set(jobs["train@ns_mlp_digits-0"]["inputs"])
    for plain in ("train@mm_mlp_digits-0", "train@ns_toy_ring8-0"):
        assert not scoring & set(jobs[plain]["inputs"]), plain
    other = tmp_path / "other"
    run(["cp", "-a", str(workspace), str(other)], cwd=tmp_path)
    run(["snakemake", "--cores", "2"], cwd=workspace)
    run(["dvc", "repro"], cwd=other)
    assert result_files(workspace) == result_files(other)
    ended = {v: outcome(workspace / f"results/runs/{v}/seed0") for v in params["variants"]}
    assert ended == {"ns_mlp_digits": (10, "target"), "mm_mlp_digits": (20, "steps"), "ns_toy_ring8": (20, "steps")}
    summary = (workspace / "results/report/summary.md").read_text()
    assert "| ns_mlp_digits | 10 (target) | 10 of 20 (50%) |" in summary
    assert "| mm_mlp_digits | 20 (steps) | 0 of 20 (0%) |" in summary
