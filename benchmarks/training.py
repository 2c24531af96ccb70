"""Training throughput: one full D + G update, after warm-up, synchronised timing.

- ours vs the pytorch/examples DCGAN loop (with reuse_fake, its algorithm: G's update
  backpropagates through the D update's fake batch; also ours with fresh z for G) (dcgan/main.py run from a checkout passed
  with --examples, on its `fake` dataset) at its configuration: 64x64 RGB, batch 128,
  nz 100, ngf = ndf = 64, Adam 2e-4, beta1 0.5, BCE with the non-saturating G loss;
- ours with a torchvision DataLoader feeding the batches (how the reference
  implementations read data) instead of indexing the uint8 tensor on the device;
- the MLP GAN at the classic tutorial configuration (28x28x1, batch 64, z 100);
- bf16 autocast, torch.compile and channels_last on/off (throughput only: their effect on
  the final metrics is measured by the preset configs/speed_options.yaml, docs/findings.md "Speed options and the results").

Throughput is reported as training iterations/s and real images/s (iterations x
batch), the quantity the examples' loop processes.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.common import machine, sync

DCGAN = {"model": "dcgan", "shape": (3, 64, 64), "batch_size": 128, "z_dim": 100, "dcgan_width": 64}
MLP = {"model": "mlp", "shape": (1, 28, 28), "batch_size": 64, "z_dim": 100}
ITERATION = re.compile(r"^\[(\d+)/\d+\]\[(\d+)/(\d+)\] Loss_D")


def options(config: dict, **overrides) -> dict:
    """Resolved training options: params.yaml's `train` defaults with the config's values."""
    from pipeline_src.params import load_params

    params = load_params(Path(__file__).resolve().parent.parent / "params.yaml")
    o = {**params["train"], "dataset": "benchmark", "loss": "non_saturating", "lr_g": 2e-4, "lr_d": 2e-4,
         "betas": [0.5, 0.999], **{k: v for k, v in config.items() if k != "shape"}, **overrides}
    return o


def time_steps(trainer, steps: int, warmup: int, device: torch.device) -> dict:
    for _ in range(warmup):
        trainer.train_step()
    sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        trainer.train_step()
    sync(device)
    seconds = time.perf_counter() - start
    return {"steps": steps, "warmup": warmup, "seconds": seconds, "iterations_per_s": steps / seconds,
            "images_per_s": steps * trainer.options["batch_size"] / seconds}


def ours(config: dict, device: torch.device, steps: int, warmup: int, loader: bool = False, **overrides) -> dict:
    from pipeline_src.training.loop import Trainer

    torch.manual_seed(0)
    data = torch.randint(0, 256, (1000, *config["shape"]), dtype=torch.uint8)  # as FakeData: 1000 images
    o = options(config, **overrides)
    trainer = (loader_trainer() if loader else Trainer)(o, data.to(device), seed=0, device=device)
    if loader:
        trainer.attach(data, workers=min(2, os.cpu_count() or 1))
    return time_steps(trainer, steps, warmup, device)


def loader_trainer():
    from pipeline_src.training.loop import Trainer

    class _LoaderTrainer(Trainer):
        """Batches from a torchvision DataLoader (shuffle, workers, ToTensor + Normalize
        in the workers, host -> device copy per batch), as the reference loops read data."""

        def attach(self, data: torch.Tensor, workers: int) -> None:
            from torchvision import transforms

            normalise = transforms.Normalize([0.5] * data.shape[1], [0.5] * data.shape[1])

            class Images(torch.utils.data.Dataset):
                def __len__(self):
                    return len(data)

                def __getitem__(self, i):
                    return normalise(data[i].float().div(255))

            self.loader = torch.utils.data.DataLoader(Images(), batch_size=self.options["batch_size"], shuffle=True,
                                                      drop_last=True, num_workers=workers,
                                                      pin_memory=self.device.type == "cuda",
                                                      persistent_workers=workers > 0)
            self.batches = iter(self.loader)

        def real_batch(self) -> torch.Tensor:
            try:
                x = next(self.batches)
            except StopIteration:
                self.batches = iter(self.loader)
                x = next(self.batches)
            return x.to(self.device, non_blocking=True)

    return _LoaderTrainer


def examples_dcgan(checkout: Path, device: torch.device, epochs: int, workers: int) -> dict:
    """Run dcgan/main.py of a pytorch/examples checkout; time each iteration from its log lines."""
    script = Path(checkout).resolve() / "dcgan" / "main.py"  # absolute: it runs in a temporary folder
    if not script.is_file():
        raise SystemExit(f"--examples {checkout}: no dcgan/main.py there (clone github.com/pytorch/examples)")
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-u", str(script), "--dataset", "fake", "--batchSize", "128", "--imageSize", "64",
               "--nz", "100", "--ngf", "64", "--ndf", "64", "--lr", "0.0002", "--beta1", "0.5",
               "--niter", str(epochs), "--workers", str(workers), "--manualSeed", "0", "--outf", out]
        if device.type == "cuda":
            cmd.append("--accel")
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=out)
        stamps = []
        for line in proc.stdout:
            if ITERATION.match(line):
                stamps.append(time.perf_counter())
        err = proc.stderr.read()
        if proc.wait() != 0:
            raise RuntimeError(f"{script} exited {proc.returncode}:\n{err[-2000:]}")
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    steady = gaps[2:] or gaps  # the first iterations include worker start-up and cuDNN autotuning
    per_iteration = statistics.median(steady)
    return {"iterations": len(stamps), "epochs": epochs, "workers": workers,
            "median_iteration_s": per_iteration, "iterations_per_s": 1 / per_iteration,
            "images_per_s": 128 / per_iteration,
            "note": "median gap between its per-iteration log lines (each ends in .item() syncs); "
                    "FakeData's 1000 images = 8 iterations per epoch"}


def run(args) -> dict:
    from pipeline_src.devices import resolve_device

    device = resolve_device(args.device)
    gpu = device.type == "cuda"
    steps = (200 if gpu else 20) if not args.quick else 3
    warmup = 20 if gpu else 3
    out: dict = {"machine": machine(device.type), "config": {"dcgan": {**DCGAN, "shape": list(DCGAN["shape"])},
                                                             "mlp": {**MLP, "shape": list(MLP["shape"])},
                                                             "steps": steps, "warmup": warmup}}
    # the examples' algorithm: G's update reuses the D update's fake batch (reuse_fake)
    out["ours_dcgan"] = ours(DCGAN, device, steps, warmup, reuse_fake=True)
    out["ours_dcgan_fresh_z"] = ours(DCGAN, device, steps, warmup)  # Algorithm 1: one more G forward per step
    out["ours_dcgan_dataloader"] = ours(DCGAN, device, steps, warmup, loader=True, reuse_fake=True)
    out["speedup_vs_dataloader_feed"] = out["ours_dcgan"]["images_per_s"] / out["ours_dcgan_dataloader"]["images_per_s"]
    if args.examples:
        epochs = (30 if gpu else 3) if not args.quick else 1
        out["examples_dcgan"] = examples_dcgan(Path(args.examples), device, epochs, workers=min(2, os.cpu_count()))
        out["examples_dcgan"]["commit"] = _git_head(Path(args.examples))
        out["speedup_vs_examples_dcgan"] = out["ours_dcgan"]["images_per_s"] / out["examples_dcgan"]["images_per_s"]
        out["speedup_vs_examples_dcgan_fresh_z"] = (out["ours_dcgan_fresh_z"]["images_per_s"]
                                                    / out["examples_dcgan"]["images_per_s"])
    else:
        out["examples_dcgan"] = {"skipped": "pass --examples PATH (a checkout of github.com/pytorch/examples)"}
    mlp_steps = steps * (10 if not gpu else 5)
    out["ours_mlp"] = ours(MLP, device, mlp_steps, warmup)
    if gpu or not args.quick:
        out["ours_dcgan_bf16"] = ours(DCGAN, device, steps, warmup, amp_bf16=True, reuse_fake=True)
        out["ours_mlp_bf16"] = ours(MLP, device, mlp_steps, warmup, amp_bf16=True)
    if gpu or not args.quick:  # compiling takes 15-30 s on a 2-core CPU: not for a smoke run
        out["ours_dcgan_compile"] = ours(DCGAN, device, steps, warmup + 10, compile=True, reuse_fake=True)
        out["ours_mlp_compile"] = ours(MLP, device, mlp_steps, warmup + 10, compile=True)
    out["ours_dcgan_channels_last"] = ours(DCGAN, device, steps, warmup, channels_last=True, reuse_fake=True)
    for name in ("bf16", "compile", "channels_last"):
        for net in ("dcgan", "mlp"):
            if f"ours_{net}_{name}" in out:
                out[f"speedup_{net}_{name}"] = out[f"ours_{net}_{name}"]["images_per_s"] / out[f"ours_{net}"]["images_per_s"]
    return out


def _git_head(checkout: Path) -> str | None:
    """The checkout's commit: its REVISION file (a copy of dcgan/ alone, benchmarks/device_check.sh),
    else git's HEAD when the folder is the top of its own repository (not a folder inside another)."""
    revision = checkout / "REVISION"
    if revision.is_file():
        return revision.read_text().strip() or None
    try:
        top, head = subprocess.run(["git", "-C", str(checkout), "rev-parse", "--show-toplevel", "HEAD"],
                                   capture_output=True, text=True, timeout=10).stdout.split() or ("", "")
    except (OSError, ValueError):
        return None
    return head if Path(top).resolve() == checkout.resolve() else None
