"""Stage `train`: outputs, determinism, resume after SIGKILL/SIGTERM equal to an
uninterrupted run, divergence handling, and a real learning check."""

from __future__ import annotations

import csv
import json
import math
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from pipeline_src.paths import RunFiles
from pipeline_src.training.generator import load_generator
from pipeline_src.training.losses import LOSSES
from pipeline_src.training.networks import build_networks
from tests.conftest import env_with_venv, tiny_params, write_params

RUN = "results/runs/{variant}/seed{seed}"


def prepared(run_stage, workdir: Path, params: dict, *datasets: str) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    write_params(workdir, params)
    for d in datasets:
        run_stage(workdir, "download", "--dataset", d)
        run_stage(workdir, "prepare", "--dataset", d)
    return workdir


def train(run_stage, workdir: Path, variant: str, seed: int = 0, check: bool = True):
    return run_stage(workdir, "train", "--variant", variant, "--seed", str(seed), check=check)


def run_folder(workdir: Path, variant: str, seed: int = 0) -> Path:
    return workdir / RUN.format(variant=variant, seed=seed)


def read_log(folder: Path) -> list[dict]:
    with open(folder / "log.csv") as f:
        return list(csv.DictReader(f))


def same_weights(a: Path, b: Path) -> bool:
    sa, sb = (torch.load(p / "checkpoint.pt", weights_only=False)["state"] for p in (a, b))
    return all(torch.equal(sa[net][k], sb[net][k]) for net in ("g", "d") for k in sa[net])


def test_a_run_writes_every_output_with_its_content(tmp_path, run_stage):
    ws = prepared(run_stage, tmp_path, tiny_params(), "digits")
    train(run_stage, ws, "ns_mlp_digits")
    folder = run_folder(ws, "ns_mlp_digits")
    rows = read_log(folder)
    assert [int(r["step"]) for r in rows] == [10, 20]
    assert list(rows[0]) == ["step", "loss_d", "loss_g", "d_real", "d_fake", "grad_norm_d", "grad_norm_g",
                             "loss_d_fake", "d_heldout", "wall_s", "images_per_s"]
    assert all(0 < float(r["d_real"]) < 1 and float(r["grad_norm_g"]) > 0 for r in rows)
    # D's loss on the generated batch, the fake term of its BCE loss: part of the whole, never above it
    assert all(0 < float(r["loss_d_fake"]) < float(r["loss_d"]) for r in rows)
    assert all(0 < float(r["d_heldout"]) < 1 for r in rows)  # D on a fixed batch of the test split
    g, saved = load_generator(RunFiles("ns_mlp_digits", 0, ws / "results"))  # rebuilt without params.yaml
    assert g(torch.randn(3, saved["options"]["z_dim"])).shape == (3, 1, 8, 8)
    assert saved["step"] == 20 and not saved["diverged"]
    options = json.loads((folder / "options.json").read_text())
    assert options["options"]["loss"] == "non_saturating" and options["versions"]["torch"] == torch.__version__
    diagnostics = json.loads((folder / "diagnostics.json").read_text())
    assert {"saturated", "oscillating", "diverged", "mode_collapse", "equilibrium_distance"} <= set(diagnostics)
    assert sorted(p.name for p in (folder / "samples").iterdir()) == ["final.png", "step_10.png"]
    assert (folder / "samples/final.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (folder / ".resume").exists()  # finished runs leave nothing to resume


def test_same_seed_same_log_and_weights_other_seed_differs(tmp_path, run_stage):
    params = tiny_params()
    for name in ("a", "b"):
        ws = prepared(run_stage, tmp_path / name, params, "ring8")
        train(run_stage, ws, "ns_toy_ring8", seed=0)
    train(run_stage, tmp_path / "b", "ns_toy_ring8", seed=1)
    a, b = run_folder(tmp_path / "a", "ns_toy_ring8"), run_folder(tmp_path / "b", "ns_toy_ring8")
    strip = lambda rows: [{k: v for k, v in r.items() if k not in ("wall_s", "images_per_s")} for r in rows]  # noqa: E731
    assert strip(read_log(a)) == strip(read_log(b))
    assert same_weights(a, b)
    assert not same_weights(a, run_folder(tmp_path / "b", "ns_toy_ring8", seed=1))


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("model", ["mlp", "dcgan"])
def test_every_loss_and_network_trains_from_params_alone(tmp_path, run_stage, loss, model):
    params = tiny_params()
    params["datasets"]["digits"].update(side=16, resize="bilinear")
    params["train"].update(steps=4, log_every=2, d_steps=2, ema=0.9, dcgan_width=8)
    params["variants"] = {"v": {"dataset": "digits", "model": model, "loss": loss}}
    ws = prepared(run_stage, tmp_path, params, "digits")
    train(run_stage, ws, "v")
    rows = read_log(run_folder(ws, "v"))
    assert len(rows) == 2 and all(float(r[k]) == float(r[k]) for r in rows for k in ("loss_d", "loss_g"))


def _launch(workdir: Path, variant: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "pipeline_src", "train", "--variant", variant, "--seed", "0"],
                            cwd=workdir, env=env_with_venv(), stderr=subprocess.PIPE, text=True)


def _wait_for_line(proc: subprocess.Popen, prefix: str) -> None:
    for line in proc.stderr:
        if line.startswith(prefix):
            return
    raise AssertionError(f"the run ended before printing {prefix!r} (exit {proc.wait()})")


def long_params() -> dict:
    params = tiny_params()
    params["train"].update(steps=400, log_every=20, checkpoint_every=20, sample_every=1000)
    return params


def interrupted_run(run_stage, tmp_path, params: dict, sig: int, at_step: int):
    """An uninterrupted ring8 run, and one sent `sig` once it logged `at_step`.
    Returns (uninterrupted run folder, interrupted workspace, the interrupted process's exit code)."""
    ref = prepared(run_stage, tmp_path / "ref", params, "ring8")
    train(run_stage, ref, "ns_toy_ring8")
    ws = prepared(run_stage, tmp_path / "interrupted", params, "ring8")
    proc = _launch(ws, "ns_toy_ring8")
    _wait_for_line(proc, f"step {at_step}/")
    proc.send_signal(sig)
    code = proc.wait(timeout=60)
    return run_folder(ref, "ns_toy_ring8"), ws, code


@pytest.mark.parametrize("kill_after_step", [60, 180])
def test_resume_after_sigkill_ends_bit_identical_to_an_uninterrupted_run(tmp_path, run_stage, kill_after_step):
    ref, ws, _ = interrupted_run(run_stage, tmp_path, long_params(), signal.SIGKILL, kill_after_step)
    folder = run_folder(ws, "ns_toy_ring8")
    assert not (folder / "generator.pt").exists()  # no output a driver would take as complete
    resumed = train(run_stage, ws, "ns_toy_ring8")
    step = int(resumed.stderr.split("resuming from step ")[1].split()[0])
    assert 0 < step <= 400
    assert same_weights(folder, ref)
    assert [r["loss_g"] for r in read_log(folder)] == [r["loss_g"] for r in read_log(ref)]


def test_log_csv_grows_while_the_run_goes_and_a_resumed_run_continues_it(tmp_path, run_stage):
    """A row is in log.csv as soon as it is logged: a killed run's file holds the training so far,
    every line whole, and the resumed run ends with each row once, as the uninterrupted run's."""
    ref, ws, code = interrupted_run(run_stage, tmp_path, long_params(), signal.SIGKILL, 200)
    assert code == -signal.SIGKILL
    folder = run_folder(ws, "ns_toy_ring8")
    assert not (folder / "generator.pt").exists()  # killed while it ran
    losses = [(r["step"], r["loss_d"], r["loss_g"]) for r in read_log(ref)]
    so_far = [(r["step"], r["loss_d"], r["loss_g"]) for r in read_log(folder)]
    assert len(so_far) >= 10 and so_far == losses[:len(so_far)]  # up to step 200 at least, as the full run's
    assert all(None not in r.values() for r in read_log(folder))  # no line cut short
    train(run_stage, ws, "ns_toy_ring8")
    assert [(r["step"], r["loss_d"], r["loss_g"]) for r in read_log(folder)] == losses


def sigterm_then_resume(run_stage, tmp_path, params: dict, at_step: int = 100):
    """An uninterrupted run, and a run sent SIGTERM after `at_step` then started again.
    Returns (uninterrupted folder, resumed folder, the step the checkpoint held, rerun result)."""
    ref, ws, code = interrupted_run(run_stage, tmp_path, params, signal.SIGTERM, at_step)
    assert code == 143
    folder = run_folder(ws, "ns_toy_ring8")
    saved = torch.load(folder / ".resume/checkpoint.pt", weights_only=False)
    resumed = train(run_stage, ws, "ns_toy_ring8")
    return ref, folder, saved["state"]["step"], resumed


def test_sigterm_checkpoints_then_exits_143_and_the_rerun_completes(tmp_path, run_stage):
    params = long_params()
    params["train"]["checkpoint_every"] = 1000  # only SIGTERM writes a checkpoint after step 0
    ref, resumed_folder, step, resumed = sigterm_then_resume(run_stage, tmp_path, params)
    assert step >= 100
    assert f"resuming from step {step}" in resumed.stderr
    assert same_weights(resumed_folder, ref)


def test_divergence_stops_cleanly_keeps_last_good_state_and_is_flagged(tmp_path, run_stage):
    params = tiny_params()
    params["train"].update(steps=200, log_every=5, checkpoint_every=5)
    params["variants"] = {"absurd": {"dataset": "digits", "model": "mlp", "loss": "wgan_gp",
                                     "lr_d": 1e12, "lr_g": 1e12, "gp_weight": 0.0}}
    ws = prepared(run_stage, tmp_path, params, "digits")
    result = train(run_stage, ws, "absurd")
    assert result.returncode == 0  # the sweep goes on
    folder = run_folder(ws, "absurd")
    diagnostics = json.loads((folder / "diagnostics.json").read_text())
    assert diagnostics["diverged"] is True
    at = diagnostics["diverged_at_step"]
    g, saved = load_generator(RunFiles("absurd", 0, ws / "results"))
    assert saved["diverged"] and saved["step"] == at - 5  # the last checkpoint before the bad row
    assert all(torch.isfinite(p).all() for p in g.parameters())
    last = read_log(folder)[-1]  # the row that showed the divergence is kept
    assert int(last["step"]) == at
    assert not all(math.isfinite(float(last[k])) for k in ("loss_d", "loss_g"))


def test_gauss1d_generator_moves_toward_the_target_mean(tmp_path, run_stage):
    params = tiny_params()
    params["datasets"]["gauss1d"]["n_train"] = 20000
    params["train"].update(steps=1500, log_every=100, sample_every=10_000, checkpoint_every=10_000,
                           toy_width=32, toy_depth=2, lr_g=1e-3, lr_d=1e-3)
    ws = prepared(run_stage, tmp_path, params, "gauss1d")
    train(run_stage, ws, "ns_toy_gauss1d")
    g, saved = load_generator(RunFiles("ns_toy_gauss1d", 0, ws / "results"))
    torch.manual_seed(0)
    z = torch.rand(20_000, saved["options"]["z_dim"]) * 2 - 1  # the variant's uniform inputs
    g0, _ = build_networks("toy_mlp", (1,), saved["options"])  # the untrained network of this seed
    with torch.no_grad():
        final, initial = g(z).mean().item(), g0(z).mean().item()
    print(f"gauss1d generated mean: initial {initial:.3f}, final {final:.3f}")
    # an untrained G outputs ~0 (|0 - 4| = 4); 1500 steps bring the mean within 0.5 of 4
    # (seed 0 reached 4.00 here; 0.5 leaves room across platforms without accepting a non-learner)
    assert abs(initial - 4.0) > 3.0
    assert abs(final - 4.0) < 0.5


def test_training_on_unprepared_data_exits_2_naming_the_file(tmp_path, run_stage):
    write_params(tmp_path, tiny_params())
    result = train(run_stage, tmp_path, "ns_toy_ring8", check=False)
    assert result.returncode == 2
    assert "results/data/ring8/meta.json: missing; run the prepare stage for ring8 first" in result.stderr
    assert not (tmp_path / "results/runs").exists()


def test_corrupt_prepared_tensor_is_refused_naming_the_file(tmp_path, run_stage):
    ws = prepared(run_stage, tmp_path, tiny_params(), "ring8")
    data = ws / "results/data/ring8/train.pt"
    data.write_bytes(data.read_bytes()[:-64])
    result = train(run_stage, ws, "ns_toy_ring8", check=False)
    assert result.returncode == 2
    assert "results/data/ring8/train.pt: sha256" in result.stderr and "rerun prepare" in result.stderr


def test_unknown_variant_exits_2(tmp_path, run_stage):
    write_params(tmp_path, tiny_params())
    result = train(run_stage, tmp_path, "nope", check=False)
    assert result.returncode == 2 and "--variant: 'nope' is not a key of `variants`" in result.stderr


@pytest.mark.parametrize("option", [{"amp_bf16": True}, {"compile": True}, {"channels_last": True}])
def test_speed_options_train_and_keep_losses_finite(tmp_path, run_stage, option):
    """bf16 autocast, torch.compile (WGAN-GP: the penalty stays eager) and channels_last
    run on CPU; whether they pay off is the Performance benchmark's question."""
    params = tiny_params()
    params["datasets"]["digits"].update(side=16, resize="bilinear")
    params["train"].update(steps=6, log_every=3, dcgan_width=8)
    model, loss = ("dcgan", "wgan_gp") if "compile" in option or "channels_last" in option else ("mlp", "hinge")
    params["variants"] = {"v": {"dataset": "digits", "model": model, "loss": loss, **option}}
    ws = prepared(run_stage, tmp_path, params, "digits")
    train(run_stage, ws, "v")
    rows = read_log(run_folder(ws, "v"))
    assert len(rows) == 2 and all(math.isfinite(float(r[k])) for r in rows for k in ("loss_d", "loss_g"))
    g, saved = load_generator(RunFiles("v", 0, ws / "results"))  # weights saved without torch.compile's prefixes
    assert g(torch.randn(2, saved["options"]["z_dim"])).shape == (2, 1, 16, 16)


def test_epochs_set_the_number_of_steps(tmp_path, run_stage):
    params = tiny_params()
    params["train"].update(epochs=0.5, batch_size=100, log_every=5)
    ws = prepared(run_stage, tmp_path, params, "ring8")
    train(run_stage, ws, "ns_toy_ring8")
    options = json.loads((run_folder(ws, "ns_toy_ring8") / "options.json").read_text())["options"]
    assert options["steps"] == 10  # ceil(0.5 * 2000 / 100)
    assert int(read_log(run_folder(ws, "ns_toy_ring8"))[-1]["step"]) == 10


def test_an_unwritable_checkpoint_stops_the_run_naming_the_path(tmp_path, run_stage):
    ws = prepared(run_stage, tmp_path, tiny_params(), "ring8")
    blocker = run_folder(ws, "ns_toy_ring8") / ".resume"
    blocker.parent.mkdir(parents=True)
    blocker.write_text("not a folder")  # the checkpoint folder cannot be created
    result = train(run_stage, ws, "ns_toy_ring8", check=False)
    assert result.returncode == 1
    assert ("error: results/runs/ns_toy_ring8/seed0/.resume/checkpoint.pt: cannot write (File exists)"
            in result.stderr)
    assert not (run_folder(ws, "ns_toy_ring8") / "generator.pt").exists()
