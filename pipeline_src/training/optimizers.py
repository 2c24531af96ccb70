"""The optimisers of G and D and the learning-rate schedule they follow."""

from __future__ import annotations

import torch
from torch import nn

from pipeline_src.optim import eager


def make_optimizer(net: nn.Module, lr: float, options: dict) -> torch.optim.Optimizer:
    """Adam with `betas` (the default), or SGD with `momentum` (Goodfellow et al. 2014): plain SGD
    steps in proportion to the gradient, so a saturating loss's vanishing gradient stops G.
    Without `compile`, the eager form of the class (no torch._dynamo import)."""
    sgd = options["optimizer"] == "sgd"
    cls = torch.optim.SGD if sgd else torch.optim.Adam
    if not options["compile"]:
        cls = eager(cls)
    if sgd:
        return cls(net.parameters(), lr=lr, momentum=options["momentum"])
    return cls(net.parameters(), lr=lr, betas=tuple(options["betas"]))


def lr_factor(options: dict, step: int, total: int) -> float:
    """Multiplier of both learning rates for update `step` (0-based) of `total`: 1, or under
    `lr_decay: linear` a line from 1 at lr_decay_start * total to 0 after the last update."""
    if options["lr_decay"] == "constant":
        return 1.0
    start = int(options["lr_decay_start"] * total)
    return 1.0 if step < start else 1.0 - (step - start) / (total - start)
