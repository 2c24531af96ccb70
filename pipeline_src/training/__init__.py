"""GAN training: networks, losses, the Algorithm-1 loop, checkpoints and diagnostics."""

# The failure flags of diagnostics.json, copied into each run's metrics file and
# counted by the report (kept here, free of torch, so the report need not import it).
FAILURE_FLAGS = ("diverged", "saturated", "oscillating", "mode_collapse")

# Losses whose D output is a logit, D(x) = sigmoid(logit): a probability, with the
# 1/2 equilibrium of Goodfellow et al. 2014 (the others' outputs are raw scores).
BCE_LOSSES = ("minimax", "non_saturating")

# The options generator.pt and each snapshot record: what it takes to rebuild G without
# params.yaml, and what `evaluate` checks against the variant's options in params.yaml.
GENERATOR_OPTIONS = ("model", "loss", "z_dim", "noise", "dcgan_width", "toy_width", "toy_depth")

# Image sides the DCGAN networks are built for: G grows a 4x4 seed by stride-2 transposed
# convolutions to the side, D mirrors it, so the depth follows the side (8: the digits' own size).
DCGAN_SIDES = (8, 16, 32, 64)
