"""A trained generator read back from generator.pt, without params.yaml, and samples of it.

Shared by `evaluate` (the metrics' samples) and `report` (the figures' samples).
"""

from __future__ import annotations

from pathlib import Path

import torch

from pipeline_src.errors import InputError
from pipeline_src.training.loop import sample_latent
from pipeline_src.training.networks import build_networks


def load_generator(folder: Path) -> tuple[torch.nn.Module, dict]:
    """G in eval mode and the saved record (model, shape, options, dataset, kind, step)."""
    path = Path(folder) / "generator.pt"
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
