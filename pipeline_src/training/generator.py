"""A trained generator read back from generator.pt, without params.yaml, and samples of it.

Shared by `evaluate` (the metrics' samples) and `report` (the figures' samples).
"""

from __future__ import annotations

from pathlib import Path

import torch

from pipeline_src.errors import InputError
from pipeline_src.io import load_torch_file
from pipeline_src.paths import RunFiles
from pipeline_src.training import GENERATOR_OPTIONS
from pipeline_src.training.networks import build_networks


def sample_latent(n: int, z_dim: int, noise: str, generator: torch.Generator) -> torch.Tensor:
    """(n, z_dim) latents on the generator's device: N(0, 1), or U(-1, 1) for `uniform`."""
    if noise == "uniform":
        return torch.rand(n, z_dim, generator=generator, device=generator.device) * 2 - 1
    return torch.randn(n, z_dim, generator=generator, device=generator.device)


def expected_record(options: dict, fingerprint: str) -> dict:
    """What the generator of a run with these (variant) options and this fingerprint must record:
    `load_generator`'s `expected` (a saved record works too: a snapshot must match its run's generator.pt)."""
    return {"model": options["model"], "dataset": options["dataset"],
            "options": {k: options[k] for k in GENERATOR_OPTIONS}, "fingerprint": fingerprint}


def rerun_hint(run: RunFiles) -> str:
    """What rebuilds a run's generator files: its train job, as a command."""
    return f"rerun train for this run (python -m pipeline_src train --variant {run.variant} --seed {run.seed})"


def _differences(saved: dict, expected: dict) -> list[str]:
    wanted = {"model": expected["model"], "dataset": expected["dataset"], **expected["options"]}
    found = {"model": saved.get("model"), "dataset": saved.get("dataset"), **(saved.get("options") or {})}
    named = [f"{k}: {found.get(k)!r} in the file, {v!r} expected" for k, v in wanted.items() if found.get(k) != v]
    if named or saved.get("fingerprint") == expected["fingerprint"]:
        return named
    return ["another run's options, seed or training data (its fingerprint differs: another learning rate, "
            "number of steps, seed or dataset version than params.yaml gives this run)"]


def load_generator(run: RunFiles, file: Path | None = None, expected: dict | None = None) -> tuple[torch.nn.Module, dict]:
    """G in eval mode and the saved record (model, shape, options, dataset, kind, step):
    the run's last G (generator.pt), or `file` (one of its snapshots). With `expected`
    (see expected_record), a G written for another network, dataset or loss is refused
    by name before its weights are touched: a copied-in or stale file, not a size-mismatch traceback."""
    path = Path(file) if file is not None else run.generator
    if not path.is_file():
        raise InputError(f"{path}: missing; run the train stage for this run first")
    fix = rerun_hint(run)
    saved = load_torch_file(path, fix)
    if not isinstance(saved, dict) or not {"state_dict", "model", "shape", "options"} <= set(saved):
        raise InputError(f"{path}: not a generator record of this pipeline; {fix}")
    if expected is not None and (diff := _differences(saved, expected)):
        raise InputError(f"{path}: written for another generator than this run's options in params.yaml "
                         f"({'; '.join(diff)}); {fix}")
    try:
        g, _ = build_networks(saved["model"], tuple(saved["shape"]), saved["options"])
        g.load_state_dict(saved["state_dict"])
    except (RuntimeError, KeyError, TypeError, ValueError) as e:
        detail = str(e).splitlines()[0][:160]
        raise InputError(f"{path}: its weights do not fit the network it records "
                         f"({e.__class__.__name__}: {detail}); {fix}") from None
    return g.eval(), saved


@torch.no_grad()
def generate(g: torch.nn.Module, saved: dict, n: int, seed: int, batch_size: int = 10_000,
             device: torch.device = torch.device("cpu")) -> torch.Tensor:
    """n samples of G in batches; z is drawn on the CPU so the samples do not depend on the device."""
    gen = torch.Generator().manual_seed(seed)
    g = g.to(device)
    parts = []
    for start in range(0, n, batch_size):
        z = sample_latent(min(batch_size, n - start), saved["options"]["z_dim"], saved["options"]["noise"], gen)
        parts.append(g(z.to(device)).cpu())
    return torch.cat(parts)


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """G's Tanh range [-1, 1] -> uint8 [0, 255], as real images are stored."""
    return ((x.float() + 1) * 127.5).round_().clamp_(0, 255).to(torch.uint8)
