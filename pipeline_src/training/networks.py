"""The networks of the variants. D always returns one logit (or critic value) per sample.

mlp      the classic tutorial MLP: G z->256->512->1024->out, D in->1024->512->256->1,
         LeakyReLU(0.01), Tanh output.
dcgan    Radford et al. 2015: strided (transposed) 4x4 convolutions, BatchNorm, ReLU in G,
         LeakyReLU(0.2) in D, Tanh output, N(0, 0.02) init; depth follows the image side.
toy_mlp  small MLPs for point data (width x depth hidden layers, linear output).

`pack: m` (PacGAN, Lin et al. 2018) gives any of them a packing discriminator:
D sees m samples at once (concatenated features, or stacked channels for
dcgan) and returns one logit per pack of m.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from pipeline_src.training import DCGAN_SIDES


class MLPGenerator(nn.Module):
    def __init__(self, z_dim: int, shape: tuple[int, ...], final: nn.Module | None = None):
        super().__init__()
        self.shape = tuple(shape)
        out = math.prod(shape)
        self.net = nn.Sequential(
            nn.Linear(z_dim, 256), nn.LeakyReLU(0.01),
            nn.Linear(256, 512), nn.LeakyReLU(0.01),
            nn.Linear(512, 1024), nn.LeakyReLU(0.01),
            nn.Linear(1024, out), final if final is not None else nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:  # (B, z_dim) -> (B, *shape)
        return self.net(z).view(len(z), *self.shape)


class MLPDiscriminator(nn.Module):
    def __init__(self, shape: tuple[int, ...]):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(math.prod(shape), 1024), nn.LeakyReLU(0.01),
            nn.Linear(1024, 512), nn.LeakyReLU(0.01),
            nn.Linear(512, 256), nn.LeakyReLU(0.01),
            nn.Linear(256, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, *shape) -> (B,) logits
        return self.net(x).squeeze(1)


def _dcgan_depth(side: int) -> int:
    if side not in DCGAN_SIDES:
        raise ValueError(f"dcgan supports image sides {DCGAN_SIDES}, not {side}")
    return int(math.log2(side)) - 2  # number of 2x up/down-sampling layers between 4x4 and side


class DCGANGenerator(nn.Module):
    """z (B, z_dim) -> (B, C, side, side); 4x4 seed then `depth` stride-2 transposed convs."""

    def __init__(self, z_dim: int, channels: int, side: int, width: int = 64):
        super().__init__()
        depth = _dcgan_depth(side)
        ch = width * 2 ** (depth - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(z_dim, ch, 4, 1, 0, bias=False), nn.BatchNorm2d(ch), nn.ReLU(True),
        ]
        for _ in range(depth - 1):
            layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch // 2), nn.ReLU(True)]
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z[:, :, None, None])


class DCGANDiscriminator(nn.Module):
    """(B, C, side, side) -> (B,) logits. `norm=False` drops BatchNorm (WGAN-GP's
    penalty is per sample, which batch statistics would break)."""

    def __init__(self, channels: int, side: int, width: int = 64, norm: bool = True):
        super().__init__()
        depth = _dcgan_depth(side)
        ch = width
        layers: list[nn.Module] = [nn.Conv2d(channels, ch, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
        for _ in range(depth - 1):
            layers.append(nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False))
            if norm:
                layers.append(nn.BatchNorm2d(ch * 2))
            layers.append(nn.LeakyReLU(0.2, True))
            ch *= 2
        layers.append(nn.Conv2d(ch, 1, 4, 1, 0, bias=False))  # 4x4 -> 1x1
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()


def dcgan_init(m: nn.Module) -> None:
    """Radford et al.: conv weights N(0, 0.02); BatchNorm scale N(1, 0.02), shift 0."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def toy_generator(z_dim: int, dim: int, width: int, depth: int) -> nn.Module:
    layers: list[nn.Module] = []
    n_in = z_dim
    for _ in range(depth):
        layers += [nn.Linear(n_in, width), nn.ReLU()]
        n_in = width
    layers.append(nn.Linear(n_in, dim))  # points are unbounded: no Tanh
    return nn.Sequential(*layers)


class ToyDiscriminator(nn.Module):
    def __init__(self, dim: int, width: int, depth: int):
        super().__init__()
        layers: list[nn.Module] = []
        n_in = dim
        for _ in range(depth):
            layers += [nn.Linear(n_in, width), nn.LeakyReLU(0.2)]
            n_in = width
        layers.append(nn.Linear(n_in, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)


class Packed(nn.Module):
    """PacGAN's packing: (B, C, ...) -> (B/m, m*C, ...), consecutive samples in one pack,
    then the wrapped D. B must be a multiple of m."""

    def __init__(self, d: nn.Module, pack: int):
        super().__init__()
        self.d, self.pack = d, pack

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, *shape) -> (B / pack,)
        if len(x) % self.pack:
            raise ValueError(f"a batch of {len(x)} cannot be split into packs of {self.pack}")
        return self.d(x.reshape(len(x) // self.pack, self.pack * x.shape[1], *x.shape[2:]))


def build_networks(model: str, shape: tuple[int, ...], options: dict) -> tuple[nn.Module, nn.Module]:
    """(G, D) for a variant. `shape` is one sample's shape: (C, H, W) or (D,)."""
    z_dim, pack = options["z_dim"], options.get("pack", 1)
    d_shape = (shape[0] * pack, *shape[1:])  # what D sees: m samples stacked along the first axis
    if model == "mlp":
        g, d = MLPGenerator(z_dim, shape), MLPDiscriminator(d_shape)
    elif model == "dcgan":
        channels, side = shape[0], shape[-1]
        width = options["dcgan_width"]
        g = DCGANGenerator(z_dim, channels, side, width)
        d = DCGANDiscriminator(d_shape[0], side, width, norm=options["loss"] != "wgan_gp")
    elif model == "toy_mlp":
        (dim,) = shape
        g = toy_generator(z_dim, dim, options["toy_width"], options["toy_depth"])
        d = ToyDiscriminator(d_shape[0], options["toy_width"], options["toy_depth"])
    else:
        raise ValueError(f"unknown model {model!r}")
    return g, (Packed(d, pack) if pack > 1 else d)
