"""Training on CUDA (skipped without a GPU): every loss and network runs, and a
resumed run ends close to an uninterrupted one (cuDNN autotuning and atomics make
GPU runs non-bit-identical; the tolerance below says how close is close)."""

from __future__ import annotations

import json
import math

import pytest
import torch

from pipeline_src.training.losses import LOSSES
from tests.conftest import tiny_params
from tests.pipeline.test_train import prepared, read_log, run_folder, sigterm_then_resume, train

pytestmark = pytest.mark.gpu


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("model", ["mlp", "dcgan"])
def test_every_loss_and_network_trains_on_cuda(tmp_path, run_stage, loss, model):
    params = tiny_params()
    params["datasets"]["digits"].update(side=32, resize="bilinear")
    params["train"].update(steps=20, log_every=10, device="cuda", ema=0.999)
    params["variants"] = {"v": {"dataset": "digits", "model": model, "loss": loss}}
    ws = prepared(run_stage, tmp_path, params, "digits")
    train(run_stage, ws, "v")
    rows = read_log(run_folder(ws, "v"))
    assert all(math.isfinite(float(r[k])) for r in rows for k in ("loss_d", "loss_g"))
    device = json.loads((run_folder(ws, "v") / "options.json").read_text())["device"]
    assert not device.startswith("cpu"), device


@pytest.mark.parametrize("dataset", ["gauss1d", "ring8", "grid25"])
def test_the_toy_network_trains_on_cuda(tmp_path, run_stage, dataset):
    params = tiny_params()
    params["train"].update(steps=20, log_every=10, device="cuda")
    params["variants"] = {"v": {"dataset": dataset, "model": "toy_mlp", "loss": "non_saturating"}}
    ws = prepared(run_stage, tmp_path, params, dataset)
    train(run_stage, ws, "v")
    assert all(math.isfinite(float(r["loss_g"])) for r in read_log(run_folder(ws, "v")))
    assert not json.loads((run_folder(ws, "v") / "options.json").read_text())["device"].startswith("cpu")


@pytest.mark.parametrize("option", ["amp_bf16", "compile", "channels_last"])
def test_each_speed_option_trains_dcgan_on_cuda(tmp_path, run_stage, option):
    params = tiny_params()
    params["datasets"]["digits"].update(side=32, resize="bilinear")
    params["train"].update(steps=20, log_every=10, device="cuda", **{option: True})
    params["variants"] = {"v": {"dataset": "digits", "model": "dcgan", "loss": "non_saturating"}}
    ws = prepared(run_stage, tmp_path, params, "digits")
    train(run_stage, ws, "v")
    assert all(math.isfinite(float(r[k])) for r in read_log(run_folder(ws, "v")) for k in ("loss_d", "loss_g"))
    assert json.loads((run_folder(ws, "v") / "options.json").read_text())["options"][option] is True


def test_resume_after_sigterm_on_cuda_ends_close_to_an_uninterrupted_run(tmp_path, run_stage):
    params = tiny_params()
    params["train"].update(steps=400, log_every=20, checkpoint_every=1000, device="cuda")
    ref, resumed, step, _ = sigterm_then_resume(run_stage, tmp_path, params)
    assert step >= 100
    a = torch.load(ref / "checkpoint.pt", weights_only=False)["state"]["g"]
    b = torch.load(resumed / "checkpoint.pt", weights_only=False)["state"]["g"]
    # same kernels on the same GPU: float32 rounding differences at most (stated tolerance)
    for k in a:
        assert torch.allclose(a[k], b[k], rtol=1e-4, atol=1e-5), k
