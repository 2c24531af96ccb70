"""Cluster submission through workflow/profiles/slurm against a real single-node Slurm
(Debian's slurm-wlm + munge, started by tests/slurm_cluster.py), not a mock."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from tests.conftest import env_with_venv, tiny_params, write_params
from tests.slurm_cluster import SlurmCluster, foreign_config, missing_binaries


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    missing = missing_binaries()
    if missing:
        pytest.skip(f"Slurm is not installed (missing {', '.join(missing)}; apt-get install slurm-wlm munge)")
    if os.geteuid() != 0:
        pytest.skip("starting slurmctld/slurmd and munged needs root")
    if foreign_config():
        pytest.skip(f"{foreign_config()} belongs to a real cluster; not replacing it")
    cluster = SlurmCluster(tmp_path_factory.mktemp("slurm"), cpus=2, memory_mb=8000)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


def slurm_env(cluster: SlurmCluster) -> dict:
    env = env_with_venv()
    env["SLURM_CONF"] = str(cluster.conf)
    return env


def job_ids(cluster: SlurmCluster) -> list[str]:
    out = subprocess.run(["squeue", "-h", "-t", "all", "-o", "%i %T"], env=cluster.env,
                         capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.split()[1] == "COMPLETED"]


def test_tiny_pipeline_runs_to_completion_through_the_slurm_profile(slurm, workspace):
    params = tiny_params()
    params["train"]["seeds"] = [0]
    params["variants"] = {k: params["variants"][k] for k in ("ns_mlp_digits", "ns_toy_ring8")}
    params["resources"] = {"default": {"runtime_min": 10, "mem_mb": 500},
                           "train": {"runtime_min": 10, "mem_mb": 1000}}
    write_params(workspace, params)
    before = set(job_ids(slurm))
    # The training jobs ask for the node's (fake) GPU, as GPU rules do on a real cluster.
    proc = subprocess.run(["snakemake", "--profile", "workflow/profiles/slurm", "--set-resources", "train:gpu=1"],
                          cwd=workspace, env=slurm_env(slurm), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    submitted = re.findall(r"submitted with SLURM jobid (\d+)", proc.stdout + proc.stderr)
    # download, prepare, classifier and reference per dataset; train and evaluate per variant; the report
    assert len(submitted) == 4 * 4 + 2 + 2 + 1
    assert set(submitted) <= set(job_ids(slurm)) - before  # every one ran as a Slurm job and completed
    for d in params["datasets"]:
        assert (workspace / f"results/data/{d}/meta.json").is_file()
    for v in params["variants"]:
        assert (workspace / f"results/metrics/{v}/seed0.json").is_file()
    assert (workspace / "results/report/summary.md").is_file()
    train_jobs = re.findall(r"rule_train/\S+/(\d+)\.log", proc.stdout + proc.stderr)
    assert len(set(train_jobs)) == 2
    for job in set(train_jobs):
        shown = subprocess.run(["scontrol", "show", "job", job], env=slurm.env, capture_output=True, text=True).stdout
        assert re.search(r"gres/gpu[:=]1|gpu:1", shown), shown  # the GPU request reached Slurm
