"""Load: a sweep of 24 tiny runs (4 losses x 2 datasets x 3 seeds: 24 train and 24 evaluate
jobs) under `snakemake --cores 2` and under `dvc repro`. Both complete with every metrics JSON
whole, and memory stays bounded: each job's peak RSS is measured by the job itself (a
sitecustomize on PYTHONPATH records getrusage at exit), and the last train jobs peak no higher
than the first ones. Run it alone with `pytest -m load`."""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import assert_sweep_complete, env_with_venv, tiny_params, write_params

LOSSES = ("non_saturating", "minimax", "hinge", "lsgan")
DATASETS = ("ring8", "gauss1d")
SEEDS = [0, 1, 2]
GROWTH = 1.15  # the last train jobs may peak 15% above the first (allocator noise), not more
CEILING_MB = 1500  # a tiny toy job: torch alone is ~400 MB resident

# Loaded by every Python process started with PYTHONPATH=<folder>: a pipeline_src job writes its
# own peak resident memory (getrusage, kilobytes on Linux) and command line when it exits.
SITECUSTOMIZE = '''
import atexit, json, os, resource, sys, time

def _record():
    if "pipeline_src" not in " ".join(sys.argv):
        return
    path = os.path.join(os.environ["PIPELINE_RSS_DIR"], f"{os.getpid()}.json")
    with open(path, "w") as f:
        json.dump({"argv": sys.argv[1:], "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                   "end": time.time()}, f)

atexit.register(_record)
'''


def sweep_params() -> dict:
    params = tiny_params()
    params["datasets"] = {d: params["datasets"][d] for d in DATASETS}
    base = {"model": "toy_mlp"}
    params["variants"] = {f"{loss}_{d}": {**base, "dataset": d, "loss": loss} for d in DATASETS for loss in LOSSES}
    params["train"]["seeds"] = SEEDS
    return params


def measured(ws: Path, command: list[str], probe: Path) -> tuple[float, list[dict]]:
    """Run a driver with the memory probe; (wall seconds, every job's record in order of exit)."""
    records = probe / "records" / ws.name
    records.mkdir(parents=True)
    env = {**env_with_venv(), "PYTHONPATH": str(probe), "PIPELINE_RSS_DIR": str(records)}
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=ws, env=env, capture_output=True, text=True, timeout=1200)
    wall = time.perf_counter() - started
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    jobs = [json.loads(p.read_text()) for p in records.glob("*.json")]
    return wall, sorted(jobs, key=lambda j: j["end"])


@pytest.mark.load
def test_a_24_run_sweep_completes_under_both_drivers_with_bounded_memory(workspace, tmp_path):
    params = sweep_params()
    write_params(workspace, params)
    assert len(params["variants"]) * len(SEEDS) == 24
    probe = tmp_path / "probe"
    probe.mkdir()
    (probe / "sitecustomize.py").write_text(SITECUSTOMIZE)
    other = tmp_path / "dvc"
    shutil.copytree(workspace, other, symlinks=True)

    for ws, command in ((workspace, ["snakemake", "--cores", "2"]), (other, ["dvc", "repro"])):
        wall, jobs = measured(ws, command, probe)
        assert_sweep_complete(ws, params)
        trains = [j for j in jobs if j["argv"][:1] == ["train"]]
        assert len(trains) == 24 and sum(j["argv"][:1] == ["evaluate"] for j in jobs) == 24
        peaks = [j["max_rss_kb"] / 1024 for j in trains]  # MB, in order of completion
        first, last = max(peaks[:6]), max(peaks[-6:])
        print(f"{command[0]}: {len(jobs)} jobs in {wall:.0f} s; train peak RSS first 6 {first:.0f} MB, "
              f"last 6 {last:.0f} MB; largest job {max(j['max_rss_kb'] for j in jobs) / 1024:.0f} MB")
        assert last <= first * GROWTH, peaks
        assert max(j["max_rss_kb"] for j in jobs) / 1024 < CEILING_MB
    # the driver itself is not a pipeline_src job; its children's peaks are bounded the same way
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 < CEILING_MB * 2
