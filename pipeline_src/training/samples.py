"""Pictures of what G makes: an image grid, or points over the real data for toys."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import torch

from pipeline_src.io import atomic_write_bytes


def image_grid(images: np.ndarray, nrow: int = 8) -> np.ndarray:
    """(B, C, H, W) uint8 -> one picture, `nrow` images per row between white 1-pixel lines:
    (rows*(H+1)+1, cols*(W+1)+1) for one channel, with a last axis of C otherwise. Built here
    rather than with torchvision.utils.make_grid: importing torchvision costs a job ~1.8 s."""
    b, c, h, w = images.shape
    cols = min(nrow, b)
    rows = math.ceil(b / cols)
    out = np.full((rows * (h + 1) + 1, cols * (w + 1) + 1, c), 255, dtype=np.uint8)
    for i, image in enumerate(images):
        top, left = 1 + (i // cols) * (h + 1), 1 + (i % cols) * (w + 1)
        out[top:top + h, left:left + w] = image.transpose(1, 2, 0)
    return out[:, :, 0] if c == 1 else out


def image_grid_png(images: torch.Tensor, nrow: int = 8) -> bytes:
    """(B, C, H, W) in [-1, 1] -> PNG bytes of image_grid (pixel-exact upscale for tiny images)."""
    from PIL import Image

    x = images.detach().float().cpu().clamp(-1, 1).add(1).div(2).mul(255).round().to(torch.uint8).numpy()
    picture = Image.fromarray(image_grid(x, nrow))
    scale = max(1, 256 // max(picture.size))
    if scale > 1:
        picture = picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)
    buf = io.BytesIO()
    picture.save(buf, format="PNG")
    return buf.getvalue()


def points_png(generated: np.ndarray, real: np.ndarray, title: str) -> bytes:
    """Scatter (2-D) or histogram (1-D) of generated points over the real ones."""
    from matplotlib.figure import Figure  # not pyplot: no backend or global state, 0.5 s fewer imports

    fig = Figure(figsize=(4, 4), dpi=100)
    ax = fig.subplots()
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
    fig.savefig(buf, format="png", dpi=fig.dpi, metadata={"Software": None})  # not rcParams["savefig.dpi"]: the report style sets it
    return buf.getvalue()


def write_samples(path: Path, generated: torch.Tensor, real: torch.Tensor, title: str) -> None:
    if generated.dim() == 4:
        data = image_grid_png(generated)
    else:
        data = points_png(generated.detach().float().cpu().numpy(), real.float().cpu().numpy(), title)
    atomic_write_bytes(path, data)
