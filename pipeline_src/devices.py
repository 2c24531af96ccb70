"""Which device a job will use, decided without importing torch (the Snakefile asks at DAG time)."""

from __future__ import annotations

import os

NVIDIA_CONTROL = "/dev/nvidiactl"  # present wherever the NVIDIA driver is loaded


def wants_gpu(device: str) -> bool:
    """True when a stage with this `device` option will run on CUDA."""
    return device == "cuda" or (device == "auto" and os.path.exists(NVIDIA_CONTROL))
