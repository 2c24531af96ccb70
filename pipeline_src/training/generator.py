"""A trained generator read back from generator.pt, without params.yaml, and samples of it.

Shared by `evaluate` (the metrics' samples) and `report` (the figures' samples).
"""

from __future__ import annotations

from pathlib import Path

import torch

from pipeline_src.errors import InputError
from pipeline_src.training.loop import sample_latent
from pipeline_src.training.networks import build_networks


def snapshot_path(folder: Path, step: int) -> Path:
    """A run's snapshot of G at `step` (train.snapshot_every)."""
    return Path(folder) / "snapshots" / f"step_{step}.pt"


def saved_generators(folder: Path) -> list[Path]:
    """Every saved G of a run in step order: its snapshots, then the last one (generator.pt)."""
    steps = sorted(int(p.stem[5:]) for p in (Path(folder) / "snapshots").glob("step_*.pt") if p.stem[5:].isdigit())
    return [snapshot_path(folder, k) for k in steps] + [Path(folder) / "generator.pt"]


def load_generator(folder: Path, file: Path | None = None) -> tuple[torch.nn.Module, dict]:
    """G in eval mode and the saved record (model, shape, options, dataset, kind, step):
    the run's last G (generator.pt), or `file` (one of its snapshots)."""
    path = Path(file) if file is not None else Path(folder) / "generator.pt"
    if not path.is_file():
        raise InputError(f"{path}: missing; run the train stage for this run first")
    try:
        saved = torch.load(path, weights_only=True)
        g, _ = build_networks(saved["model"], tuple(saved["shape"]), saved["options"])
        g.load_state_dict(saved["state_dict"])
    except (RuntimeError, KeyError, EOFError, ValueError) as e:
        raise InputError(f"{path}: cannot be loaded ({e.__class__.__name__}: {e}); rerun train") from None
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
