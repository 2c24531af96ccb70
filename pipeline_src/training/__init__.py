"""GAN training: networks, losses, the Algorithm-1 loop, checkpoints and diagnostics."""

import math

# The failure flags of diagnostics.json, copied into each run's metrics file and
# counted by the report (kept here, free of torch, so the report need not import it).
FAILURE_FLAGS = ("diverged", "saturated", "d_wins", "d_loses", "d_one_sided", "d_overfit", "oscillating",
                 "mode_collapse")

# Losses whose D output is a logit, D(x) = sigmoid(logit): a probability, with the
# 1/2 equilibrium of Goodfellow et al. 2014 (the others' outputs are raw scores).
BCE_LOSSES = ("minimax", "non_saturating")
# Losses whose D loss has a floor of 0, reached when D separates real from generated samples
# (the seeds' "D loss -> 0"), and whose loss on generated samples grows as D loses to G: not
# WGAN-GP, whose critic scores are unbounded either way.
FLOORED_D_LOSSES = BCE_LOSSES + ("hinge", "lsgan")
# Losses whose D output is read against 1/2: a probability (BCE), or LSGAN's score with targets 0 and 1.
HALF_BOUNDARY_LOSSES = BCE_LOSSES + ("lsgan",)

# The options generator.pt and each snapshot record: what it takes to rebuild G without
# params.yaml, and what `evaluate` checks against the variant's options in params.yaml.
GENERATOR_OPTIONS = ("model", "loss", "z_dim", "noise", "dcgan_width", "toy_width", "toy_depth")

# Image sides the DCGAN networks are built for: G grows a 4x4 seed by stride-2 transposed
# convolutions to the side, D mirrors it, so the depth follows the side (8: the digits' own size).
DCGAN_SIDES = (8, 16, 32, 64)


# Early stopping (`train.early_stop`, the rule in training/stopping.py): a run is scored at every
# snapshot as evaluate scores its saved generators, with these keys of `evaluate`, by the module
# below. Train loads it by name only when early stopping is on (see the stage table), so that the
# metric code is a source of the runs that stop early only.
SELECT_KEYS = ("select_samples", "batch_size", "seed", "hq_threshold")
SCORER_MODULE = "pipeline_src.selection"


def early_stop_on(early_stop: dict) -> bool:
    """Early stopping is on when it has a patience or a target."""
    return early_stop["patience"] is not None or early_stop["target"] is not None


def resolved_steps(options: dict, n_train: int) -> int:
    """Generator updates of the run: `steps`, or `epochs` passes over the training split."""
    if options.get("epochs"):
        return max(1, math.ceil(options["epochs"] * n_train / options["batch_size"]))
    return options["steps"]
