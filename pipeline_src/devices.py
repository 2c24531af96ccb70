"""Which device a job uses, and which GPU: decided without importing torch.

Snakemake's `gpu` resource only counts jobs; it does not say which GPU a job
should use. A job that will run on CUDA therefore claims one of the visible
GPUs itself: one lock file per GPU, held with flock for the life of the
process (the kernel drops it when the process dies, SIGKILL included), and
CUDA_VISIBLE_DEVICES set to the claimed GPU before torch initialises CUDA.
So `--resources gpu=4` on a 4-GPU machine runs four trainings on four GPUs.
"""

from __future__ import annotations

import fcntl
import os
import re
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

NVIDIA_CONTROL = "/dev/nvidiactl"  # present wherever the NVIDIA driver is loaded
LOCK_DIR_ENV = "PIPELINE_GPU_LOCK_DIR"


def wants_gpu(device: str, gpu_nodes: bool | None = None) -> bool:
    """True when a stage with this `device` option will run on CUDA.

    gpu_nodes: whether the machines the job will run on have GPUs, where the caller knows it
    (a cluster profile declares it; the submitting host is not those machines). None: the job
    runs here, and this machine's NVIDIA driver decides.
    """
    if device == "auto":
        return os.path.exists(NVIDIA_CONTROL) if gpu_nodes is None else gpu_nodes
    return device == "cuda"


def visible_gpus(environ: dict | None = None, dev: str = "/dev") -> list[str]:
    """GPU ids this process may use: CUDA_VISIBLE_DEVICES when set (Slurm sets it to the
    allocation), else one per /dev/nvidiaN device node."""
    env = os.environ if environ is None else environ
    if "CUDA_VISIBLE_DEVICES" in env:
        return [g.strip() for g in env["CUDA_VISIBLE_DEVICES"].split(",") if g.strip() and g.strip() != "-1"]
    try:
        names = os.listdir(dev)
    except OSError:
        return []
    return sorted((m.group(1) for n in names if (m := re.fullmatch(r"nvidia(\d+)", n))), key=int)


def default_lock_dir() -> Path:
    """Shared by every workspace on the machine (they share its GPUs)."""
    return Path(os.environ.get(LOCK_DIR_ENV) or Path(tempfile.gettempdir()) / "pipeline_src-gpu-locks")


@contextmanager
def claim_gpu(gpus: list[str], lock_dir: Path | None = None, poll_s: float = 0.5,
              timeout_s: float | None = None) -> Iterator[str]:
    """Hold an exclusive lock on the first free GPU of `gpus` and yield its id.

    Waits (polling every poll_s) while every GPU is held; raises TimeoutError
    after timeout_s if given.
    """
    if not gpus:
        raise RuntimeError("no visible GPU to claim")
    folder = Path(lock_dir) if lock_dir is not None else default_lock_dir()
    folder.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    while True:
        for gpu in gpus:
            fd = os.open(folder / f"gpu{gpu}.lock", os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            try:
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())  # who holds it, for a person looking
                yield gpu
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
            return
        if timeout_s is not None and time.monotonic() - start > timeout_s:
            raise TimeoutError(f"all GPUs {gpus} stayed claimed for {timeout_s} s (locks in {folder})")
        time.sleep(poll_s)


@contextmanager
def gpu_for_this_process(device: str) -> Iterator[str | None]:
    """Claim a GPU and pin CUDA_VISIBLE_DEVICES to it when `device` means CUDA and
    more than one GPU is visible; otherwise leave the environment alone."""
    gpus = visible_gpus() if wants_gpu(device) else []
    if len(gpus) <= 1:
        yield gpus[0] if gpus else None
        return
    with claim_gpu(gpus) as gpu:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu
        yield gpu


def resolve_device(name: str) -> "torch.device":
    """The torch device of a `device` option: auto is cuda where torch sees one, else cpu."""
    import torch  # here, so that deciding GPU requests needs no torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device: cuda was requested but torch sees no CUDA device")
    return torch.device(name)
