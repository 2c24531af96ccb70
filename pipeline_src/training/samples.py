"""Pictures of what G makes: an image grid, or points over the real data for toys."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch

from pipeline_src.io import atomic_write_bytes


def image_grid_png(images: torch.Tensor, nrow: int = 8) -> bytes:
    """(B, C, H, W) in [-1, 1] -> PNG bytes of a grid (pixel-exact upscale for tiny images)."""
    from PIL import Image
    from torchvision.utils import make_grid

    grid = make_grid(images.detach().float().cpu().clamp(-1, 1), nrow=nrow, padding=1, normalize=True,
                     value_range=(-1, 1), pad_value=1.0)
    array = (grid.mul(255).round().to(torch.uint8).permute(1, 2, 0).numpy())
    if array.shape[2] == 1:
        array = array[:, :, 0]
    image = Image.fromarray(array)
    scale = max(1, 256 // max(image.size))
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def points_png(generated: np.ndarray, real: np.ndarray, title: str) -> bytes:
    """Scatter (2-D) or histogram (1-D) of generated points over the real ones."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
    if generated.shape[1] == 1:
        bins = np.linspace(min(real.min(), generated.min()), max(real.max(), generated.max()), 60)
        ax.hist(real[:, 0], bins=bins, density=True, alpha=0.5, label="real", color="#0072B2")
        ax.hist(generated[:, 0], bins=bins, density=True, alpha=0.5, label="generated", color="#D55E00")
        ax.set_xlabel("x")
        ax.set_ylabel("density")
    else:
        ax.scatter(real[:, 0], real[:, 1], s=2, alpha=0.3, label="real", color="#0072B2")
        ax.scatter(generated[:, 0], generated[:, 1], s=2, alpha=0.6, label="generated", color="#D55E00")
        ax.set_xlabel("x1")
        ax.set_ylabel("x2")
        ax.set_aspect("equal", adjustable="datalim")
    ax.set_title(title, fontsize=9)
    ax.legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def write_samples(path: Path, generated: torch.Tensor, real: torch.Tensor, title: str) -> None:
    if generated.dim() == 4:
        data = image_grid_png(generated)
    else:
        data = points_png(generated.detach().float().cpu().numpy(), real.float().cpu().numpy(), title)
    atomic_write_bytes(path, data)
