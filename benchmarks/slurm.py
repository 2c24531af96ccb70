"""A sweep through workflow/profiles/slurm on a real single-node Slurm (tests/slurm_cluster.py:
Debian's slurm-wlm and munge, this machine's cores), twice, each in a fresh copy of the project:

- `grouped`: as shipped, a toy run's train and evaluate jobs are one submission (the Snakemake
  group `toys`);
- `ungrouped`: that grouping overridden (`--groups train=train evaluate=evaluate`), so every
  job is its own submission, as before the grouping.

Both use the profile with `gpu_nodes: 0` (a CPU-only cluster: the test node's one fake GPU would
otherwise run the trainings one at a time). Reported: wall time and sbatch submissions of each.
Needs root (munged and slurmd) and no real cluster's /etc/slurm/slurm.conf.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from benchmarks.common import machine
from benchmarks.pipeline import PROJECT, REPO, tiny

VARIANTS = {"grouped": [], "ungrouped": ["--groups", "train=train", "evaluate=evaluate"]}


def workspace(root: Path, params: dict) -> Path:
    ws = root / "ws"
    for name in PROJECT:
        src, dst = REPO / name, ws / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dst)
    (ws / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    profile = ws / "cpu_cluster" / "config.yaml"
    profile.parent.mkdir()
    profile.write_text((ws / "workflow/profiles/slurm/config.yaml").read_text().replace("gpu_nodes: 1", "gpu_nodes: 0"))
    subprocess.run(["git", "init", "-q"], cwd=ws, check=True)
    return ws


def sweep(cluster, root: Path, params: dict, extra: list[str]) -> dict:
    ws = workspace(root, params)
    env = {**cluster.env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "DVC_NO_ANALYTICS": "1"}
    start = time.perf_counter()
    proc = subprocess.run(["snakemake", "--profile", "cpu_cluster", *extra], cwd=ws, env=env,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"snakemake exited {proc.returncode}:\n{(proc.stdout + proc.stderr)[-3000:]}")
    out = proc.stdout + proc.stderr
    return {"wall_s": seconds, "submissions": len(re.findall(r"submitted with SLURM jobid \d+", out)),
            "local_jobs": len(re.findall(r"^localrule (?!all:)\w+:", out, flags=re.M))}


def run(args) -> dict:
    from tests.slurm_cluster import SlurmCluster, foreign_config, missing_binaries

    if missing_binaries() or os.geteuid() != 0 or foreign_config():
        raise SystemExit("needs slurm-wlm and munge installed, root, and no real cluster's /etc/slurm/slurm.conf")
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    if args.quick:
        params = tiny(params)
    root = Path(tempfile.mkdtemp(prefix="bench-slurm-"))
    cluster = SlurmCluster(root / "cluster", cpus=os.cpu_count(), memory_mb=16000)
    result: dict = {"machine": machine("cpu"), "params": "tiny (--quick)" if args.quick else "params.yaml",
                    "cluster": f"single node, {os.cpu_count()} CPUs, 16000 MB", "runs": {}}
    try:
        cluster.start()
        for name, extra in VARIANTS.items():
            result["runs"][name] = sweep(cluster, root / name, params, extra)
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
    grouped, ungrouped = result["runs"]["grouped"], result["runs"]["ungrouped"]
    result["ungrouped_over_grouped_wall"] = ungrouped["wall_s"] / grouped["wall_s"]
    return result
