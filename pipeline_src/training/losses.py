"""GAN objectives as pure functions of D's outputs (logits for the BCE losses).

Conventions: every function returns a scalar to *minimise*. BCE terms use
softplus / binary_cross_entropy_with_logits, never sigmoid + log, so they stay
finite for any logit.

  minimax         D: -[log D(x) + log(1 - D(G(z)))]    G: log(1 - D(G(z)))   (Goodfellow 2014)
  non_saturating  D: as minimax                         G: -log D(G(z))
  hinge           D: relu(1 - D(x)) + relu(1 + D(G(z)))  G: -D(G(z))
  lsgan           D: (D(x) - 1)^2/2 + D(G(z))^2/2        G: (D(G(z)) - 1)^2/2  (Mao et al., a=0 b=c=1)
  wgan_gp         D: D(G(z)) - D(x) (+ gradient penalty) G: -D(G(z))           (Gulrajani et al.)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from pipeline_src.training import BCE_LOSSES  # its home is free of torch, for the report

LOSSES = ("minimax", "non_saturating", "wgan_gp", "hinge", "lsgan")


def d_loss(kind: str, real: torch.Tensor, fake: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """Discriminator loss from D's outputs on real (B,) and generated (B,) samples.

    label_smoothing is one-sided (Salimans et al. 2016): real targets become
    1 - label_smoothing; it applies to the BCE losses only.
    """
    if kind in BCE_LOSSES:
        target = torch.full_like(real, 1.0 - label_smoothing)
        return (F.binary_cross_entropy_with_logits(real, target)
                + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))
    if kind == "hinge":
        return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()
    if kind == "lsgan":
        return 0.5 * ((real - 1.0) ** 2).mean() + 0.5 * (fake ** 2).mean()
    if kind == "wgan_gp":
        return fake.mean() - real.mean()
    raise ValueError(f"unknown loss {kind!r}")


def d_fake_loss(kind: str, fake: torch.Tensor) -> torch.Tensor:
    """The term of D's loss on generated samples alone (what `d_loses` watches): BCE against 0,
    relu(1 + D(G(z))), D(G(z))^2/2, or the critic's mean score for WGAN-GP."""
    if kind in BCE_LOSSES:
        return F.softplus(fake).mean()  # BCE with target 0: -log(1 - sigmoid(l)) = softplus(l)
    if kind == "hinge":
        return F.relu(1.0 + fake).mean()
    if kind == "lsgan":
        return 0.5 * (fake ** 2).mean()
    if kind == "wgan_gp":
        return fake.mean()
    raise ValueError(f"unknown loss {kind!r}")


def g_loss(kind: str, fake: torch.Tensor) -> torch.Tensor:
    """Generator loss from D's outputs (B,) on generated samples."""
    if kind == "minimax":
        return -F.softplus(fake).mean()  # log(1 - sigmoid(l)) = -softplus(l)
    if kind == "non_saturating":
        return F.softplus(-fake).mean()  # -log sigmoid(l) = softplus(-l)
    if kind in ("hinge", "wgan_gp"):
        return -fake.mean()
    if kind == "lsgan":
        return 0.5 * ((fake - 1.0) ** 2).mean()
    raise ValueError(f"unknown loss {kind!r}")


def gradient_penalty(d, real: torch.Tensor, fake: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """E[(||grad_x D(x_hat)||_2 - 1)^2] at x_hat = eps * real + (1 - eps) * fake.

    eps: (B,) uniform in [0, 1], drawn by the caller from the run's generator. With a
    packing D (`d.pack` = m) the norm is taken over each pack of m samples, D's real input.
    """
    shape = (-1,) + (1,) * (real.dim() - 1)
    x_hat = (eps.view(shape) * real + (1 - eps.view(shape)) * fake.detach()).requires_grad_(True)
    out = d(x_hat)
    (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
    per_input = grad.reshape(len(out), -1)  # one row per D output: a sample, or a pack
    return ((per_input.norm(dim=1) - 1.0) ** 2).mean()


def r1_penalty(d, real: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """R1 of Mescheder et al. (2018): E[||grad_x D(x)||^2] on real data, and D's output on
    `real` (the same forward pass serves the D loss). With a packing D the squared norm is
    taken per pack, D's real input."""
    x = real.detach().requires_grad_(True)
    out = d(x)
    (grad,) = torch.autograd.grad(out.float().sum(), x, create_graph=True)
    return grad.reshape(len(out), -1).pow(2).sum(dim=1).mean(), out


def d_output_summary(kind: str, out: torch.Tensor) -> torch.Tensor:
    """What log.csv reports as D(x) / D(G(z)): the probability for the BCE losses
    (equilibrium 0.5), the raw output otherwise."""
    return torch.sigmoid(out).mean() if kind in BCE_LOSSES else out.mean()
