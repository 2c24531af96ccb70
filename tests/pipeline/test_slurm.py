"""Cluster submission through workflow/profiles/slurm against a real single-node Slurm
(Debian's slurm-wlm + munge, started by tests/slurm_cluster.py), not a mock."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from pipeline_src.devices import NVIDIA_CONTROL
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


def sweep_params() -> dict:
    params = tiny_params()
    params["train"]["seeds"] = [0]
    params["variants"] = {k: params["variants"][k] for k in ("ns_mlp_digits", "ns_toy_ring8")}
    params["resources"] = {"default": {"runtime_min": 10, "mem_mb": 500},
                           "train": {"runtime_min": 10, "mem_mb": 1000}}
    return params


def submit(cluster: SlurmCluster, workspace, profile: str, *targets: str) -> str:
    """Run Snakemake through a Slurm profile from this host, which has no NVIDIA driver (as a login
    node has none); its output."""
    assert not os.path.exists(NVIDIA_CONTROL)
    proc = subprocess.run(["snakemake", "--profile", profile, *targets], cwd=workspace, env=slurm_env(cluster),
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def gpu_requested(cluster: SlurmCluster, out: str, folder: str) -> dict[str, bool]:
    """Whether each Slurm job whose log lies in .snakemake/slurm_logs/`folder` (rule_train/..., or
    group_toys... for a group) asked for a GPU, as Slurm recorded it."""
    jobs = set(re.findall(rf"slurm_logs/{folder}\S*/(\d+)\.log", out))
    shown = {job: subprocess.run(["scontrol", "show", "job", job], env=cluster.env, capture_output=True,
                                 text=True, check=True).stdout for job in jobs}
    return {job: bool(re.search(r"gres/gpu[:=]1|gpu:1", text)) for job, text in shown.items()}


def test_jobs_sent_to_other_machines_without_saying_whether_they_have_gpus_are_refused(workspace):
    """No Slurm needed: the Snakefile refuses before anything is submitted."""
    write_params(workspace, sweep_params())
    proc = subprocess.run(["snakemake", "-n", "--executor", "slurm", "--jobs", "4"], cwd=workspace,
                          env=env_with_venv(), capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "--executor slurm: the jobs run on other machines" in out and "--default-resources gpu_nodes=1" in out
    assert not (workspace / "results").exists()


def test_tiny_pipeline_runs_to_completion_through_the_slurm_profile(slurm, workspace):
    params = sweep_params()
    write_params(workspace, params)
    before = set(job_ids(slurm))
    out = submit(slurm, workspace, "workflow/profiles/slurm")
    submitted = re.findall(r"submitted with SLURM jobid (\d+)", out)
    # prepare, classifier and reference per dataset; the image run's train and evaluate; the toy
    # run's train and evaluate as one job (the group `toys`); the report
    assert len(submitted) == 3 * 4 + 2 + 1 + 1
    assert len(re.findall(r"slurm_logs/group_toys_evaluate_train/\d+\.log", out)) == 1
    assert not re.search(r"rule_(train|evaluate)/ns_toy_ring8", out)
    assert set(submitted) <= set(job_ids(slurm)) - before  # every one ran as a Slurm job and completed
    # the jobs that use the network ran here, as local jobs
    assert sorted(re.findall(r"^localrule (?!all:)(\w+):", out, flags=re.M)) == ["download"] * 4 + ["weights"]
    assert not re.search(r"rule_(download|weights)/", out)
    for d in params["datasets"]:
        assert (workspace / f"results/data/{d}/meta.json").is_file()
    for v in params["variants"]:
        assert (workspace / f"results/metrics/{v}/seed0.json").is_file()
    assert (workspace / "results/report/summary.md").is_file()
    # the default `device: auto` and the profile's gpu_nodes: 1: the GPU request reached Slurm,
    # although this host has no GPU driver
    assert list(gpu_requested(slurm, out, "rule_train").values()) == [True]  # the image run's
    assert list(gpu_requested(slurm, out, "rule_evaluate").values()) == [True]
    assert list(gpu_requested(slurm, out, "group_toys").values()) == [True]  # the toy run's (device auto)


def test_a_profile_that_says_the_nodes_have_no_gpus_asks_for_none(slurm, workspace):
    write_params(workspace, sweep_params())
    profile = workspace / "cpu_cluster"
    profile.mkdir()
    text = (workspace / "workflow/profiles/slurm/config.yaml").read_text()
    assert text.count("gpu_nodes: 1") == 1
    (profile / "config.yaml").write_text(text.replace("gpu_nodes: 1", "gpu_nodes: 0"))
    out = submit(slurm, workspace, str(profile), "results/runs/ns_mlp_digits/seed0/generator.pt")
    assert list(gpu_requested(slurm, out, "rule_train").values()) == [False]
