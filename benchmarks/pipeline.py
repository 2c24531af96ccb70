"""Pipeline overhead, in a throw-away copy of the project: a full `snakemake --cores 2`
(wall time and peak memory of the jobs), a no-op re-run of each driver, and two
incremental ablations (one variant's lr_g changed: first a variant of typical cost, then the
costliest) against the full run.

DVC adopts the Snakemake-built outputs with `dvc commit -f` (both drivers write the
same files, see the driver-parity test), so its no-op `dvc repro` is timed on the
same workspace without training everything twice.
"""

from __future__ import annotations

import copy
import csv
import datetime
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from benchmarks.common import machine

REPO = Path(__file__).resolve().parent.parent
PROJECT = ["Snakefile", "dvc.yaml", "params.yaml", "workflow", "pipeline_src", ".dvc/config", ".dvcignore", ".gitignore"]


def tiny(params: dict) -> dict:
    """Small but complete: the default variants and datasets, short runs (for --quick)."""
    p = copy.deepcopy(params)
    for options in p["datasets"].values():
        if "n_train" in options:  # the point datasets
            options.update(n_train=2000, n_test=500)
    p["train"].update(seeds=[0, 1], steps=50, log_every=10, sample_every=50, checkpoint_every=50)
    p["classifier"].update(steps=20)
    p["reference"].update(max_images=64)
    p["evaluate"].update(n_samples=64)
    for options in p["variants"].values():  # a variant's own length gives way to the tiny one
        options.pop("steps", None)
    return p


def sh(cmd: list[str], cwd: Path) -> float:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "DVC_NO_ANALYTICS": "1"}
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return seconds


def train_seconds(ws: Path) -> dict[str, float]:
    """Training wall time per variant, summed over its seeds (the last log.csv row of each run)."""
    out: dict[str, float] = {}
    for log in sorted((ws / "results/runs").glob("*/seed*/log.csv")):
        with log.open(newline="") as f:
            last = list(csv.DictReader(f))[-1]
        variant = log.parent.parent.name
        out[variant] = out.get(variant, 0.0) + float(last["wall_s"])
    return out


STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$")
STARTED = re.compile(r"^(?:local)?rule (\w+):$")
JOBID = re.compile(r"^\s+jobid: (\d+)$")
THREADS = re.compile(r"^\s+threads: (\d+)$")  # absent for one-thread jobs
FINISHED = re.compile(r"^Finished jobid: (\d+) \(Rule: (\w+)\)$")


def job_timeline(log: Path, cores: int = 2) -> dict:
    """Each job's start and end (s from the first start, 1 s resolution) and threads from a
    Snakemake log, and how well they filled the cores: busy core-seconds (duration x threads),
    the wall time they took, and the idle core-seconds in between (what packing jobs perfectly
    onto `cores` would save)."""
    jobs: dict[int, dict] = {}
    stamp = rule = job = None
    for line in log.read_text().splitlines():
        if m := STAMP.match(line):
            stamp = datetime.datetime.strptime(m.group(1), "%a %b %d %H:%M:%S %Y").timestamp()
        elif m := STARTED.match(line):
            rule = m.group(1)
        elif (m := JOBID.match(line)) and rule is not None:
            job = jobs[int(m.group(1))] = {"rule": rule, "start": stamp, "threads": 1}
            rule = None
        elif (m := THREADS.match(line)) and job is not None:
            job["threads"] = int(m.group(1))
        elif (m := FINISHED.match(line)) and int(m.group(1)) in jobs:
            jobs[int(m.group(1))]["end"] = stamp
            job = None
    done = [j for j in jobs.values() if "end" in j and j["rule"] != "all"]
    if not done:
        return {"jobs": []}
    t0 = min(j["start"] for j in done)
    wall = max(j["end"] for j in done) - t0
    busy = sum((j["end"] - j["start"]) * j["threads"] for j in done)
    return {"jobs": [{"rule": j["rule"], "threads": j["threads"], "start_s": j["start"] - t0, "end_s": j["end"] - t0}
                     for j in done],
            "wall_s": wall, "busy_core_s": busy, "idle_core_s": cores * wall - busy,
            "packed_wall_s": busy / cores}


def newest_log(ws: Path) -> Path:
    return max((ws / ".snakemake/log").glob("*.snakemake.log"), key=lambda p: p.stat().st_mtime)


def workspace(root: Path, params: dict) -> Path:
    ws = root / "ws"
    for name in PROJECT:
        src, dst = REPO / name, ws / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__")) if src.is_dir()
         else shutil.copy2(src, dst))
    (ws / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    sh(["git", "init", "-q"], ws)
    return ws


def run(args) -> dict:
    from pipeline_src.params import load_params

    params = load_params(REPO / "params.yaml")
    if args.quick:
        params = tiny(params)
    n_variants = len(params["variants"])
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        ws = workspace(Path(args.keep or tmp), params)
        full = sh(["snakemake", "--cores", "2"], ws)
        full_timeline = job_timeline(newest_log(ws))
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # largest single job
        trained = train_seconds(ws)
        if args.keep:  # the report of the full run, before the ablation below changes a variant
            shutil.copytree(ws / "results/report", ws / "report-of-the-full-run")
        noop_smk = [sh(["snakemake", "--cores", "2"], ws) for _ in range(3)]
        sh(["dvc", "commit", "-f", "-q"], ws)
        noop_dvc = [sh(["dvc", "repro"], ws) for _ in range(3)]
        report_only = sh([sys.executable, "-m", "pipeline_src", "report"], ws)
        bound = full / n_variants + report_only  # the target: 1/N of the full run plus the report
        # the target assumes variants of equal cost: change one of typical cost (training time
        # nearest the mean) and the costliest, one after the other, each against its own bound
        mean = sum(trained.values()) / len(trained)
        typical = min(trained, key=lambda v: abs(trained[v] - mean))
        costliest = max(trained, key=trained.get)
        incremental = {}
        for variant in dict.fromkeys([typical, costliest]):
            params["variants"][variant]["lr_g"] = params["train"]["lr_g"] * 2
            (ws / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
            seconds = sh(["snakemake", "--cores", "2"], ws)
            share = trained[variant] / sum(trained.values())  # what the incremental run must redo
            incremental[variant] = {
                "timeline": job_timeline(newest_log(ws)),  # where the wall time went, job by job
                "changed": f"variants.{variant}.lr_g", "seconds": seconds, "over_full": seconds / full,
                "train_share": share, "train_s_over_mean": trained[variant] / mean,
                "bound_1_over_n_s": bound,
                "within_1_over_n_plus_report": seconds <= bound,
                "bound_own_share_s": full * share + report_only,
            }
    noop = max(statistics.median(noop_smk), statistics.median(noop_dvc))
    return {
        "machine": machine("cpu"),
        "config": {"params": "tiny (--quick)" if args.quick else "params.yaml defaults",
                   "variants": n_variants, "seeds": len(params["train"]["seeds"]), "cores": 2},
        "full_run_s": full,
        "full_run_packing": {k: v for k, v in full_timeline.items() if k != "jobs"},
        "peak_job_rss_mb": peak_mb,
        "noop_snakemake_s": statistics.median(noop_smk),
        "noop_dvc_repro_s": statistics.median(noop_dvc),
        "report_s": report_only,
        "train_s_by_variant": trained,
        "incremental": incremental,  # per changed variant, in the order they were changed
        "targets": {"noop_under_5s": noop < 5,
                    "incremental_typical_within_1_over_n_plus_report":
                        incremental[typical]["within_1_over_n_plus_report"]},
    }
