"""GAN training: networks, losses, the Algorithm-1 loop, checkpoints and diagnostics."""
