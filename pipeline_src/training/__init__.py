"""GAN training: networks, losses, the Algorithm-1 loop, checkpoints and diagnostics."""

# The failure flags of diagnostics.json, copied into each run's metrics file and
# counted by the report (kept here, free of torch, so the report need not import it).
FAILURE_FLAGS = ("diverged", "saturated", "oscillating", "mode_collapse")
