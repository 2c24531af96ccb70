"""Damaged or foreign files given to a stage: a truncated or overwritten resume checkpoint,
generator.pt or snapshot, a generator written for another network, the dataset's meta.json,
classifier and reference statistics. Each is refused with exit code 2 and a message naming the
file and what to delete or rerun; none is used, none is silently replaced, nothing is written.
A damaged entry of the feature cache, which is no one's output, is computed again."""

from __future__ import annotations

import json
import shutil
import signal

import pytest
import torch

from pipeline_src.io import load_npz_file
from tests.conftest import cli, tiny_params, write_params
from tests.pipeline.test_evaluate import image_run
from tests.pipeline.test_train import _launch, _wait_for_line, prepared, run_folder, same_weights, train

VARIANT = "ns_toy_ring8"
RERUN = f"rerun train for this run (python -m pipeline_src train --variant {VARIANT} --seed 0)"


def damaged(good: bytes) -> dict[str, bytes]:
    """Ways a file can be damaged from outside: cut short (a copy interrupted, a full disk
    elsewhere), its last bytes lost, emptied, or overwritten with something else."""
    return {"half": good[: len(good) // 2], "tail": good[:-64], "empty": b"", "garbage": b"not a checkpoint\n" * 8}


def test_a_damaged_resume_checkpoint_is_refused_naming_it_and_never_used_or_dropped(tmp_path, run_stage):
    params = tiny_params()
    params["train"].update(steps=400, log_every=20, checkpoint_every=20, sample_every=1000, snapshot_every=0)
    ws = prepared(run_stage, tmp_path, params, "ring8")
    proc = _launch(ws, VARIANT)  # stopped mid-run: a resumable checkpoint is left
    _wait_for_line(proc, "step 100/")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 143
    folder = run_folder(ws, VARIANT)
    resume = folder / ".resume" / "checkpoint.pt"
    good = resume.read_bytes()
    step = torch.load(resume, weights_only=False)["state"]["step"]
    rel = resume.relative_to(ws)

    for kind, data in damaged(good).items():
        resume.write_bytes(data)
        result = cli(["train", "--variant", VARIANT, "--seed", "0"], ws, check=False)
        assert result.returncode == 2, (kind, result.stderr)
        error = result.stderr.strip().splitlines()[-1]
        assert error.startswith(f"error: {rel}: cannot be read, the file is truncated or not a torch file"), (kind, error)
        assert f"delete it to start this run over from step 0 (rm {rel})" in error, kind
        assert "Traceback" not in result.stderr and "resuming" not in result.stderr and "starting over" not in result.stderr
        assert resume.read_bytes() == data, kind  # left for the user to inspect, not replaced by a fresh start
        assert not (folder / "generator.pt").exists() and not (folder / "checkpoint.pt").exists(), kind

    resume.write_bytes(good)  # the intact copy put back: the run resumes from it
    result = cli(["train", "--variant", VARIANT, "--seed", "0"], ws)
    assert f"resuming from step {step}" in result.stderr
    assert torch.load(folder / "generator.pt", weights_only=True)["step"] == 400

    reference = prepared(run_stage, tmp_path / "reference", params, "ring8")
    train(run_stage, reference, VARIANT)
    assert same_weights(folder, run_folder(reference, VARIANT))  # resumed: where an uninterrupted run ends

    # deleting it, as the message says, starts the run over (and ends where an uninterrupted run ends)
    (folder / ".resume").mkdir()
    resume.write_bytes(good[:-64])
    resume.unlink()
    result = cli(["train", "--variant", VARIANT, "--seed", "0"], ws)
    assert "resuming" not in result.stderr
    assert same_weights(folder, run_folder(reference, VARIANT))


@pytest.fixture
def trained(tmp_path, run_stage):
    """A finished tiny ring8 run with one snapshot (step 10) and the last generator (step 20)."""
    ws = prepared(run_stage, tmp_path / "ws", tiny_params(), "ring8")
    train(run_stage, ws, VARIANT)
    return ws


def evaluate(ws):
    return cli(["evaluate", "--variant", VARIANT, "--seed", "0"], ws, check=False)


@pytest.mark.parametrize("name", ["generator.pt", "snapshots/step_10.pt"])
def test_a_damaged_generator_file_is_refused_by_evaluate_naming_it(trained, name):
    path = run_folder(trained, VARIANT) / name
    rel, good = path.relative_to(trained), path.read_bytes()
    for kind, data in damaged(good).items():
        path.write_bytes(data)
        result = evaluate(trained)
        assert result.returncode == 2, (kind, result.stderr)
        error = result.stderr.strip().splitlines()[-1]
        assert error.startswith(f"error: {rel}: cannot be read, the file is truncated or not a torch file"), error
        assert error.endswith(RERUN), error
        assert "Traceback" not in result.stderr
        assert not (trained / "results/metrics").exists(), kind  # nothing written
    path.write_bytes(good)
    assert evaluate(trained).returncode == 0  # the intact file: the same command succeeds


OTHER_RUNS = {  # generator.pt of another run copied over this run's (an edited params.yaml whose train
    # job has not rerun, or a file from another workspace), and what the refusal names
    "another_width": (lambda p: p["train"].update(toy_width=64), "toy_width: 64 in the file, 32 expected)"),
    # the network options agree: only the run's fingerprint (every option, the seed, the data) tells
    "another_learning_rate": (lambda p: p["variants"][VARIANT].update(lr_g=1e-3),
                              "another run's options, seed or training data"),
}


@pytest.mark.parametrize("case", sorted(OTHER_RUNS))
def test_the_generator_of_another_run_is_refused_naming_what_differs(trained, run_stage, case):
    edit, expected = OTHER_RUNS[case]
    params = tiny_params()
    edit(params)
    other = prepared(run_stage, trained.parent / "other", params, "ring8")
    train(run_stage, other, VARIANT)
    target = run_folder(trained, VARIANT) / "generator.pt"
    shutil.copy2(run_folder(other, VARIANT) / "generator.pt", target)
    result = evaluate(trained)
    assert result.returncode == 2, result.stderr
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith(f"error: {target.relative_to(trained)}: written for another generator than "
                            f"this run's options in params.yaml ("), error
    assert expected in error, error
    assert error.endswith(RERUN) and "size mismatch" not in result.stderr and "Traceback" not in result.stderr
    assert not (trained / "results/metrics").exists()


def test_the_generator_of_another_variant_copied_in_is_refused_naming_what_differs(trained, run_stage):
    write_params(trained, tiny_params())
    run_stage(trained, "download", "--dataset", "gauss1d")
    run_stage(trained, "prepare", "--dataset", "gauss1d")
    train(run_stage, trained, "ns_toy_gauss1d")
    target = run_folder(trained, VARIANT) / "generator.pt"
    shutil.copy2(run_folder(trained, "ns_toy_gauss1d") / "generator.pt", target)
    result = evaluate(trained)
    assert result.returncode == 2, result.stderr
    error = result.stderr.strip().splitlines()[-1]
    assert f"error: {target.relative_to(trained)}: written for another generator" in error
    assert "dataset: 'gauss1d' in the file, 'ring8' expected" in error and error.endswith(RERUN)
    assert not (trained / "results/metrics").exists()


def test_a_generator_saved_before_the_last_step_is_refused_naming_its_step(trained):
    """A snapshot of this very run put in the place of generator.pt: the right fingerprint,
    the wrong step (20 in params)."""
    folder = run_folder(trained, VARIANT)
    shutil.copy2(folder / "snapshots/step_10.pt", folder / "generator.pt")
    result = evaluate(trained)
    assert result.returncode == 2, result.stderr
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith(f"error: {(folder / 'generator.pt').relative_to(trained)}: written at step 10, "
                            "but the run has 20 steps and neither diverged nor stopped early"), error
    assert not (trained / "results/metrics").exists()


def test_a_rerun_that_stops_part_way_leaves_no_mark_of_a_complete_run(trained):
    """options.json marks a complete run. A rerun under changed params removes it first, so a
    rerun that stops part-way (here SIGTERM) never leaves new files beside the old mark."""
    folder = run_folder(trained, VARIANT)
    assert (folder / "options.json").is_file()
    params = tiny_params()
    params["train"].update(steps=400, log_every=20, checkpoint_every=20)
    write_params(trained, params)
    proc = _launch(trained, VARIANT)
    _wait_for_line(proc, "step 100/")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 143
    assert not (folder / "options.json").exists()
    assert (folder / ".resume/checkpoint.pt").is_file()  # resumable, and seen by the drivers as incomplete


def test_weights_that_do_not_fit_the_recorded_network_are_refused_without_a_traceback(trained):
    """A record whose options say one width and whose weights have another (a hand-edited file):
    the message names the file, not torch's size-mismatch traceback."""
    path = run_folder(trained, VARIANT) / "snapshots/step_10.pt"
    record = torch.load(path, weights_only=True)
    record["state_dict"] = {k: torch.cat([v, v]) for k, v in record["state_dict"].items()}  # twice as wide
    torch.save(record, path)
    result = evaluate(trained)
    assert result.returncode == 2, result.stderr
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith(f"error: {path.relative_to(trained)}: its weights do not fit the network it records"), error
    assert error.endswith(RERUN) and "Traceback" not in result.stderr
    assert not (trained / "results/metrics").exists()


@pytest.fixture
def digits_features(tmp_path, run_stage):
    """A tiny digits run with its dataset's classifier and reference statistics."""
    ws = image_run(run_stage, tmp_path / "ws", tiny_params())
    run_stage(ws, "reference", "--dataset", "digits")
    return ws


EVALUATE = ("evaluate", "--variant", "ns_mlp_digits", "--seed", "0")
REFERENCE_AGAIN = "delete results/features/digits/reference.* and rerun reference"
FEATURE_FILES = {  # a file of the dataset's, the stage that reads it, and what the message says to do
    "results/features/digits/reference.npz": (EVALUATE, REFERENCE_AGAIN),
    "results/features/digits/reference.json": (EVALUATE, REFERENCE_AGAIN),
    "results/features/digits/classifier.pt": (EVALUATE, "rerun the classifier stage"),
    "results/data/digits/meta.json": (("reference", "--dataset", "digits"), "delete results/data/digits and rerun prepare"),
}


def outputs(ws) -> dict:
    """Every file under results/ but the params stamps (bookkeeping a stage writes first)."""
    return {p: p.read_bytes() for p in sorted((ws / "results").rglob("*")) if p.is_file() and ".stamps" not in p.parts}


@pytest.mark.parametrize("rel", sorted(FEATURE_FILES))
def test_damaged_data_and_feature_files_are_refused_naming_them(digits_features, run_stage, rel):
    (ws, path), (stage, fix) = (digits_features, digits_features / rel), FEATURE_FILES[rel]
    good = path.read_bytes()
    for kind, data in damaged(good).items():
        path.write_bytes(data)
        before = outputs(ws)
        result = run_stage(ws, *stage, check=False)
        assert result.returncode == 2, (kind, result.stderr)
        error = result.stderr.strip().splitlines()[-1]
        assert error.startswith(f"error: {rel}: ") and error.endswith(fix), (kind, error)
        assert outputs(ws) == before, kind  # nothing written, nothing replaced
    path.write_bytes(good)
    assert run_stage(ws, *stage).returncode == 0


META_EDITS = {  # a meta.json edited by hand, and what the refusal says
    "no_sha256": (lambda m: m.pop("sha256"), "`sha256` is missing or not a dict"),
    "no_kind": (lambda m: m.pop("kind"), "`kind` is missing or not a str"),
    "a_list": (lambda m: [m], "a list instead of an object"),
    "kind_image_for_points": (lambda m: m.update(kind="image"), "kind 'image', but ring8 is points data"),
    "another_shape": (lambda m: m.update(shape=[3]), "shape [3], but"),
}


@pytest.mark.parametrize("case", sorted(META_EDITS))
def test_a_hand_edited_meta_json_is_refused_naming_what_is_wrong(trained, case):
    """Each of these was a traceback, or (kind: image on point data) a run that trained and
    an evaluation that silently computed no toy metrics."""
    path = trained / "results/data/ring8/meta.json"
    meta = json.loads(path.read_text())
    edit, expected = META_EDITS[case]
    path.write_text(json.dumps(edit(meta) if case == "a_list" else (edit(meta), meta)[1]))
    stages = [["train", "--variant", VARIANT, "--seed", "0"], ["evaluate", "--variant", VARIANT, "--seed", "0"]]
    for stage in stages[:1] if case == "another_shape" else stages:  # the shape is checked against the tensors
        result = cli(stage, trained, check=False)
        assert result.returncode == 2, (stage, result.stderr)
        error = result.stderr.strip().splitlines()[-1]
        assert error.startswith("error: results/data/ring8/meta.json: ") and expected in error, error
        assert error.endswith("delete results/data/ring8 and rerun prepare") and "Traceback" not in result.stderr


def test_a_damaged_feature_cache_entry_is_recomputed_never_used(digits_features, run_stage):
    """The reference stage's content-keyed cache (results/.cache/features) is not an output a
    user looks after: an entry cut short is computed again, to the same statistics."""
    ws = digits_features
    arrays = (ws / "results/features/digits/reference.npz").read_bytes()
    entries = sorted((ws / "results/.cache/features").rglob("*.npz"))
    assert entries
    for kind, data in damaged(entries[0].read_bytes()).items():
        entries[0].write_bytes(data)
        result = run_stage(ws, "reference", "--dataset", "digits")
        assert f"{entries[0].relative_to(ws)}: cannot be read" in result.stderr and "recomputing it" in result.stderr, kind
        assert (ws / "results/features/digits/reference.npz").read_bytes() == arrays, kind
        assert load_npz_file(entries[0], "")  # whole again


def test_inception_weights_with_another_sha256_stop_the_reference_stage_naming_the_file(
        digits_features, run_stage, inception_weights, tmp_path):
    """A weights file that is not the pinned one (another release, a damaged copy) is never used:
    the stage stops, and the reference files of the last good run stay as they were."""
    ws, copy = digits_features, tmp_path / "copy-of-weights.pth"
    copy.write_bytes(inception_weights.path.read_bytes()[:-64])
    params = tiny_params()
    params["reference"]["inception"].update(weights=str(copy), sha256=inception_weights.sha256)
    write_params(ws, params)
    before = outputs(ws)
    result = run_stage(ws, "reference", "--dataset", "digits", check=False)
    assert result.returncode == 2, result.stderr
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith(f"error: {copy}: sha256 ") and f"is not the pinned {inception_weights.sha256}" in error
    assert error.endswith("replace or delete the file"), error
    assert outputs(ws) == before
