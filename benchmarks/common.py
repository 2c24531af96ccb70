"""What every benchmark shares: synchronised timing, the machine's description, JSON output."""

from __future__ import annotations

import datetime
import os
import platform
import statistics
import time
from importlib import metadata
from pathlib import Path
from typing import Callable

RESULTS = Path(__file__).resolve().parent / "results"
LIBRARIES = ("torch", "torchvision", "numpy", "scipy", "torch-fidelity", "pytorch-fid", "snakemake", "dvc")


def sync(device) -> None:
    """Wait for queued GPU work, so a timer measures the work and not its launch."""
    import torch

    if getattr(device, "type", device) == "cuda":
        torch.cuda.synchronize()


def timed(fn: Callable[[], object], repeats: int, warmup: int = 1, device="cpu") -> dict:
    """Seconds per call of fn: `warmup` calls discarded, then the median and min of `repeats`."""
    for _ in range(warmup):
        fn()
    sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - start)
    return {"median_s": statistics.median(times), "min_s": min(times), "repeats": repeats, "warmup": warmup}


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine(device: str = "cpu") -> dict:
    """Device name, CPU, thread count and library versions: what a figure depends on."""
    import torch

    out = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "device": device,
        "device_name": torch.cuda.get_device_name() if device == "cuda" else cpu_name(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "cuda": torch.version.cuda,
    }
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def write_result(name: str, result: dict, folder: Path = RESULTS) -> Path:
    """benchmarks/results/{name}-{device}-{date}.json, written atomically; a later run of the
    same day goes to {name}-{device}-{date}-2.json (-3, ...): a quoted result is never overwritten."""
    from pipeline_src.io import atomic_write_json

    m = result["machine"]
    stem = f"{name}-{m['device']}-{m['date'][:10]}"
    path, k = Path(folder) / f"{stem}.json", 1
    while path.exists():
        k += 1
        path = Path(folder) / f"{stem}-{k}.json"
    atomic_write_json(path, result)
    return path
