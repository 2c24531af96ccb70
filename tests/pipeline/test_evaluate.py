"""Stages `classifier`, `reference` and `evaluate`: a flat metrics JSON per run with
the toy metrics, FD_classifier and class coverage, and the Inception metrics when
weights are present (random weights saved to a file here) or the reason when not."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from pipeline_src.features import EXTRACTORS
from tests.conftest import default_params, tiny_params, with_inception, write_params
from tests.pipeline.test_train import prepared, train


def evaluated(run_stage, tmp_path, variant: str, dataset: str, **train_options) -> dict:
    params = tiny_params()
    params["train"].update(train_options)
    ws = prepared(run_stage, tmp_path, params, dataset)
    train(run_stage, ws, variant)
    run_stage(ws, "evaluate", "--variant", variant, "--seed", "0")
    return json.loads((ws / f"results/metrics/{variant}/seed0.json").read_text())


def test_ring_metrics_follow_the_protocol(tmp_path, run_stage):
    m = evaluated(run_stage, tmp_path, "ns_toy_ring8", "ring8")
    assert m["n_samples"] == 2500 and m["n_modes"] == 8 and 0 <= m["modes_covered"] <= 8
    assert 0 <= m["high_quality"] <= 1
    assert ("reverse_kl" in m) != ("reverse_kl" in m["unavailable"])  # a value or a reason, never both
    assert all(isinstance(v, (int, float, str, bool, type(None), dict)) for v in m.values())  # flat
    assert {"diverged", "saturated", "oscillating", "mode_collapse"} <= set(m)


def test_gauss1d_metrics_after_learning(tmp_path, run_stage):
    m = evaluated(run_stage, tmp_path, "ns_toy_gauss1d", "gauss1d", steps=600, lr_g=1e-3, lr_d=1e-3,
                  log_every=100, sample_every=10_000, checkpoint_every=10_000)
    assert set(m) >= {"mean", "std", "ks", "w1", "n_samples"}
    assert abs(m["mean"] - 4.0) < 1.0  # an untrained G is ~4 away (see test_train's learning check)
    assert 0 <= m["ks"] <= 1 and m["w1"] >= 0


def image_run(run_stage, tmp_path, params) -> Path:
    ws = prepared(run_stage, tmp_path, params, "digits")
    train(run_stage, ws, "ns_mlp_digits")
    run_stage(ws, "classifier", "--dataset", "digits")
    return ws


def evaluate_image_run(run_stage, ws) -> dict:
    run_stage(ws, "reference", "--dataset", "digits")
    run_stage(ws, "evaluate", "--variant", "ns_mlp_digits", "--seed", "0")
    return json.loads((ws / "results/metrics/ns_mlp_digits/seed0.json").read_text())


def test_image_metrics_of_every_extractor_from_one_sample_set(tmp_path, run_stage, inception_weights):
    ws = image_run(run_stage, tmp_path, with_inception(tiny_params(), inception_weights))
    m = evaluate_image_run(run_stage, ws)
    assert m["unavailable"] == {} and m["n_samples"] == 32
    for metric in EXTRACTORS["classifier"].metrics + EXTRACTORS["inception"].metrics:
        assert isinstance(m[metric], (int, float)) and np.isfinite(m[metric]), metric
    assert m["fid"] > 0 and m["fd_classifier"] > 0 and 0 <= m["classes_covered"] <= 10
    assert 0 <= m["precision"] <= 1 and 0 <= m["recall"] <= 1 and m["inception_score"] >= 1
    assert m["inception_id"] == f"inception:{inception_weights.sha256[:12]}:tf1-bilinear-299-noantialias"
    assert m["classifier_id"].startswith("classifier:")
    baseline = json.loads((ws / "results/features/digits/reference.json").read_text())["baseline"]
    assert set(EXTRACTORS["classifier"].metrics + EXTRACTORS["inception"].metrics) <= set(baseline)


def test_without_inception_weights_fid_is_unavailable_and_the_rest_still_runs(tmp_path, run_stage):
    ws = image_run(run_stage, tmp_path, tiny_params())  # no weights, no URL
    m = evaluate_image_run(run_stage, ws)
    for metric in EXTRACTORS["inception"].metrics:
        assert metric not in m and "no Inception weights" in m["unavailable"][metric]
    assert m["fd_classifier"] > 0 and "fd_classifier" not in m["unavailable"]


def test_only_the_weights_stage_downloads_and_reference_reads_what_it_fetched(tmp_path, run_stage, monkeypatch,
                                                                            file_server, inception_weights):
    """Reference jobs may run on cluster nodes without network: the weights stage, which the drivers
    run first (where Snakemake runs), fetches the weights; reference only reads them."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    file_server.add("/w.pth", inception_weights.path.read_bytes())
    params = tiny_params()
    params["reference"]["inception"].update(url=f"{file_server.url}/w.pth", sha256=inception_weights.sha256)
    ws = image_run(run_stage, tmp_path / "ws", params)
    summary = ws / "results/features/digits/reference.json"

    run_stage(ws, "reference", "--dataset", "digits")  # before the weights stage: no download
    assert file_server.requests == []
    assert "run the weights stage" in json.loads(summary.read_text())["unavailable"]["fid"]

    fetched = run_stage(ws, "weights")
    record = json.loads((ws / "results/weights/inception.json").read_text())
    assert record["available"] is True and file_server.requests == ["/w.pth"]
    size = inception_weights.path.stat().st_size / 1e6  # its progress, as a log line (no terminal here)
    assert f"download weights-inception-2015-12-05-6726825d.pth: {size:.2f}/{size:.2f} MB (" in fetched.stderr
    run_stage(ws, "reference", "--dataset", "digits")
    assert json.loads(summary.read_text())["unavailable"] == {} and file_server.requests == ["/w.pth"]

    file_server.add("/w.pth", b"not the weights")  # a failed fetch: reference says what the weights stage saw
    (tmp_path / "torch/hub/checkpoints" / Path(record["path"]).name).unlink()
    run_stage(ws, "weights")
    run_stage(ws, "reference", "--dataset", "digits")
    assert "the weights stage recorded:" in json.loads(summary.read_text())["unavailable"]["fid"]
    assert "not the pinned" in json.loads(summary.read_text())["unavailable"]["fid"]


def test_reference_features_are_computed_once_and_reused_by_content(tmp_path, run_stage, inception_weights):
    ws = image_run(run_stage, tmp_path, with_inception(tiny_params(), inception_weights))
    first = run_stage(ws, "reference", "--dataset", "digits")
    assert "read from cache" not in first.stderr
    before = (ws / "results/features/digits/reference.npz").read_bytes()
    (ws / "results/features/digits/reference.npz").unlink()  # what a driver does before re-running a job
    again = run_stage(ws, "reference", "--dataset", "digits")
    assert again.stderr.count("read from cache") == 4  # 2 extractors x (reference split, baseline split)
    assert (ws / "results/features/digits/reference.npz").read_bytes() == before


def test_digits_classifier_reaches_the_accuracy_target(tmp_path, run_stage):
    params = tiny_params()
    params["classifier"] = default_params()["classifier"]
    params["reference"]["max_images"] = 10_000  # every real image: label shares need more than a handful
    ws = prepared(run_stage, tmp_path, params, "digits")
    run_stage(ws, "classifier", "--dataset", "digits")
    summary = json.loads((ws / "results/features/digits/classifier.json").read_text())
    assert summary["test_accuracy"] >= 0.97 and summary["meets_target"] is True
    run_stage(ws, "reference", "--dataset", "digits")
    baseline = json.loads((ws / "results/features/digits/reference.json").read_text())["baseline"]
    assert baseline["classes_covered"] == 10 and baseline["class_kl"] < 0.01  # the real test split: every digit


def test_points_datasets_get_a_toy_baseline_and_no_classifier(tmp_path, run_stage):
    ws = prepared(run_stage, tmp_path, tiny_params(), "ring8")
    run_stage(ws, "classifier", "--dataset", "ring8")
    run_stage(ws, "reference", "--dataset", "ring8")
    assert json.loads((ws / "results/features/ring8/classifier.json").read_text())["applicable"] is False
    baseline = json.loads((ws / "results/features/ring8/reference.json").read_text())["baseline"]
    assert baseline["modes_covered"] == 8 and baseline["high_quality"] > 0.98  # real points: the ceiling


def test_a_corrupt_reference_file_is_refused_naming_it(tmp_path, run_stage):
    ws = image_run(run_stage, tmp_path, tiny_params())
    run_stage(ws, "reference", "--dataset", "digits")
    (ws / "results/features/digits/reference.npz").write_bytes(b"not an npz")
    result = run_stage(ws, "evaluate", "--variant", "ns_mlp_digits", "--seed", "0", check=False)
    assert result.returncode == 2 and "results/features/digits/reference.npz: cannot be read" in result.stderr
    assert not (ws / "results/metrics").exists()


def test_evaluate_before_train_exits_2_naming_the_file(tmp_path, run_stage):
    ws = prepared(run_stage, tmp_path, tiny_params(), "ring8")
    result = run_stage(ws, "evaluate", "--variant", "ns_toy_ring8", "--seed", "0", check=False)
    assert result.returncode == 2
    assert "results/runs/ns_toy_ring8/seed0/generator.pt: missing; run the train stage" in result.stderr
    assert not (ws / "results/metrics").exists()


def read_steps(ws: Path, variant: str) -> list[tuple[int, float]]:
    lines = (ws / f"results/metrics/{variant}/seed0.steps.csv").read_text().splitlines()
    return lines[0], [(int(s), float(v)) for s, v in (line.split(",") for line in lines[1:])]


def test_the_best_saved_generator_is_evaluated_and_the_metrics_say_which(tmp_path, run_stage):
    """Snapshots every 50 steps and the last are scored (sliced W1 for points); `best` evaluates
    the lowest, `last` the last; the JSON records the choice and the steps CSV every score."""
    params = tiny_params()
    params["train"].update(steps=300, snapshot_every=50, lr_g=1e-3, lr_d=1e-3, log_every=50,
                           sample_every=10_000, checkpoint_every=10_000)
    ws = prepared(run_stage, tmp_path, params, "gauss1d")
    train(run_stage, ws, "ns_toy_gauss1d")
    run_stage(ws, "evaluate", "--variant", "ns_toy_gauss1d", "--seed", "0")
    best = json.loads((ws / "results/metrics/ns_toy_gauss1d/seed0.json").read_text())
    header, scores = read_steps(ws, "ns_toy_gauss1d")
    assert header == "step,sliced_w1" and [s for s, _ in scores] == [50, 100, 150, 200, 250, 300]
    step, score = min(scores, key=lambda r: (r[1], -r[0]))
    assert best["checkpoint"] == "best" and best["step"] == step and best["select_score"] == score
    assert best["last_step"] == 300 and best["select_score_last"] == scores[-1][1]
    assert best["select_metric"] == "sliced_w1" and best["select_samples"] == params["evaluate"]["select_samples"]
    assert len({v for _, v in scores}) > 1  # the saved generators really differ

    params["evaluate"]["checkpoint"] = "last"
    write_params(ws, params)
    run_stage(ws, "evaluate", "--variant", "ns_toy_gauss1d", "--seed", "0")
    last = json.loads((ws / "results/metrics/ns_toy_gauss1d/seed0.json").read_text())
    assert last["checkpoint"] == "last" and last["step"] == last["last_step"] == 300
    assert last["select_score"] == scores[-1][1] and read_steps(ws, "ns_toy_gauss1d")[1] == scores
    if best["step"] != 300:  # another generator: other samples, other metrics
        assert (last["mean"], last["std"]) != (best["mean"], best["std"])


def test_image_runs_are_ranked_by_fd_classifier(tmp_path, run_stage):
    ws = image_run(run_stage, tmp_path, tiny_params())
    m = evaluate_image_run(run_stage, ws)
    header, scores = read_steps(ws, "ns_mlp_digits")
    assert header == "step,fd_classifier" and [s for s, _ in scores] == [10, 20]
    assert m["select_metric"] == "fd_classifier" and m["select_score"] == min(v for _, v in scores)
    if m["step"] == 20:  # the last G is the one evaluated: its selection score is an FD of the same kind
        assert m["select_score"] == m["select_score_last"]
