"""GPU claiming without a GPU: fake device lists, real flock locks across processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from pipeline_src.devices import claim_gpu, gpu_for_this_process, visible_gpus


def test_visible_gpus_follow_cuda_visible_devices():
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "0,2"}) == ["0", "2"]
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": ""}) == []
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "-1"}) == []


def test_visible_gpus_from_device_nodes(tmp_path):
    for name in ("nvidia0", "nvidia1", "nvidia10", "nvidiactl", "nvidia-uvm"):
        (tmp_path / name).touch()
    assert visible_gpus({}, dev=str(tmp_path)) == ["0", "1", "10"]


HOLDER = """
import sys, time
from pathlib import Path
from pipeline_src.devices import claim_gpu
with claim_gpu(sys.argv[2].split(','), Path(sys.argv[1])) as gpu:
    print(gpu, flush=True)
    time.sleep(60)
"""


def hold(lock_dir, gpus):
    """A separate process that claims a GPU and keeps it; returns (process, gpu id)."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(lock_dir), ",".join(gpus)],
                            stdout=subprocess.PIPE, text=True)
    return proc, proc.stdout.readline().strip()


def test_concurrent_jobs_get_different_gpus_and_a_dead_holder_frees_its_gpu(tmp_path):
    gpus = ["0", "1"]
    a, gpu_a = hold(tmp_path, gpus)
    b, gpu_b = hold(tmp_path, gpus)
    try:
        assert {gpu_a, gpu_b} == {"0", "1"}
        with pytest.raises(TimeoutError, match="stayed claimed"):
            with claim_gpu(gpus, tmp_path, poll_s=0.05, timeout_s=0.3):
                pass
        a.send_signal(signal.SIGKILL)  # the kernel drops a dead process's lock
        a.wait()
        with claim_gpu(gpus, tmp_path, poll_s=0.05, timeout_s=5) as gpu:
            assert gpu == gpu_a
    finally:
        for p in (a, b):
            p.kill()
            p.wait()


def test_a_waiting_job_gets_the_gpu_once_it_is_released(tmp_path):
    a, gpu_a = hold(tmp_path, ["0"])
    try:
        start = time.monotonic()
        subprocess.Popen(["sh", "-c", f"sleep 0.5; kill {a.pid}"])
        with claim_gpu(["0"], tmp_path, poll_s=0.05, timeout_s=10) as gpu:
            assert gpu == "0" and time.monotonic() - start >= 0.4
    finally:
        a.kill()
        a.wait()


def test_a_cuda_job_pins_cuda_visible_devices_to_its_claim(tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINE_GPU_LOCK_DIR", str(tmp_path))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    with gpu_for_this_process("cuda") as gpu:
        assert gpu == "3" and os.environ["CUDA_VISIBLE_DEVICES"] == "3"
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")  # a second job of the same machine
        with gpu_for_this_process("cuda") as second:
            assert second == "5"


def test_cpu_jobs_claim_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINE_GPU_LOCK_DIR", str(tmp_path))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    with gpu_for_this_process("cpu") as gpu:
        assert gpu is None and os.environ["CUDA_VISIBLE_DEVICES"] == "0,1"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("variant,claims", [("ns_mlp_digits", True), ("ns_toy_ring8", False)])
def test_evaluate_claims_a_gpu_for_image_runs_as_its_rule_asks_for_one(tmp_path, monkeypatch, variant, claims):
    """The evaluate rule takes a GPU token for image datasets: the job must then claim a GPU of
    its own (four evaluations under --resources gpu=4 used to share cuda:0). Toy runs take no
    token and claim nothing. The CLI claims it for every stage the same way; the evaluation itself
    is replaced: only the claim is looked at."""
    import argparse

    from pipeline_src.cli import run_stage
    from pipeline_src.params import load_params
    from pipeline_src.stages import STAGES, evaluate
    from tests.conftest import REPO

    locks = tmp_path / "locks"
    locks.mkdir()
    monkeypatch.setenv("PIPELINE_GPU_LOCK_DIR", str(locks))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2,3")
    params = load_params(REPO / "params.yaml")
    params["evaluate"]["device"] = "cuda"
    seen = {}
    monkeypatch.setattr(evaluate, "evaluate", lambda *a: seen.update(
        visible=os.environ["CUDA_VISIBLE_DEVICES"], locks=sorted(p.name for p in locks.iterdir())))
    run_stage(STAGES["evaluate"], argparse.Namespace(variant=variant, seed=0, results=str(tmp_path / "results")),
              params)
    if claims:
        assert seen == {"visible": "0", "locks": ["gpu0.lock"]}
    else:
        assert seen == {"visible": "0,1,2,3", "locks": []}



@pytest.mark.parametrize("stage", ["classifier", "reference", "evaluate"])
def test_points_jobs_run_on_the_cpu_whatever_their_device_option(stage):
    """A points dataset has no network in these stages: its job neither asks the rule for a GPU
    token nor claims one, while the image dataset's job of the same stage does."""
    from pipeline_src.params import load_params
    from pipeline_src.stages import STAGES
    from tests.conftest import REPO

    params = load_params(REPO / "params.yaml")
    for section in ("classifier", "reference", "evaluate"):
        params[section]["device"] = "cuda"
    table = STAGES[stage]
    names = {"images": "digits", "points": "ring8"} if stage != "evaluate" else \
        {"images": "ns_mlp_digits-0", "points": "ns_toy_ring8-0"}
    devices = {kind: table.device(table.options(params, name), name) for kind, name in names.items()}
    assert devices == {"images": "cuda", "points": "cpu"}


@pytest.mark.parametrize("stage,threads", [("train", 3), ("evaluate", 1), ("report", 1)])
def test_the_cli_records_the_stamp_and_sets_the_jobs_threads_before_the_stage(tmp_path, monkeypatch, stage, threads):
    """Every stage runs under the same wrapper: when the stage starts, its params stamp records
    its job's options and torch uses the job's threads (CPU results depend on them)."""
    import argparse
    import importlib
    import json

    import torch

    from pipeline_src.cli import run_stage
    from pipeline_src.params import load_params
    from pipeline_src.paths import params_stamp
    from pipeline_src.stages import STAGES
    from tests.conftest import REPO

    params = load_params(REPO / "params.yaml")
    params["train"]["cpu_threads"], params["evaluate"]["cpu_threads"] = 3, 1
    table, results = STAGES[stage], tmp_path / "results"
    args = argparse.Namespace(variant="ns_mlp_digits", seed=0, results=str(results))
    name = table.job_name(**{w: getattr(args, w) for w in ("variant", "seed") if table.per == "run"})
    seen = {}
    monkeypatch.setattr(importlib.import_module(table.module), "run", lambda *a: seen.update(
        threads=torch.get_num_threads(),
        stamp=json.loads(params_stamp(stage, name, results).read_text())["options"]))
    before = torch.get_num_threads()
    try:
        run_stage(table, args, params)
    finally:
        torch.set_num_threads(before)
    assert seen["threads"] == threads
    assert seen["stamp"] == json.loads(json.dumps(table.options(params, name)))

CONCURRENT_JOB = """
import argparse, os, sys, time
from pipeline_src.cli import run_stage
from pipeline_src.params import load_params
from pipeline_src.stages import STAGES, {stage} as stage
params = load_params(sys.argv[1])
params["train"]["device"] = params["evaluate"]["device"] = "cuda"
def work(*args):  # the job's work, replaced: report the GPU it may see and hold it until all four hold one
    print(os.environ["CUDA_VISIBLE_DEVICES"], flush=True)
    open(os.path.join(sys.argv[2] + "-holding", str(os.getpid())), "w").close()
    deadline = time.monotonic() + 90
    while len(os.listdir(sys.argv[2] + "-holding")) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
stage.{stage} = work
run_stage(STAGES["{stage}"], argparse.Namespace(variant="ns_mlp_digits", seed=int(sys.argv[3]), results=sys.argv[2]),
          params)
"""


@pytest.mark.parametrize("stage", ["train", "evaluate"])
def test_four_concurrent_jobs_on_four_gpus_claim_four_different_ones(tmp_path, stage):
    """What `snakemake --resources gpu=4` does on a 4-GPU machine: four jobs at once, each on its own GPU."""
    from tests.conftest import REPO

    env = {**os.environ, "PIPELINE_GPU_LOCK_DIR": str(tmp_path), "CUDA_VISIBLE_DEVICES": "0,1,2,3"}
    (tmp_path / "results-holding").mkdir()
    # four runs (seeds 0-3): four jobs, each writing its own params stamp before it claims a GPU
    jobs = [subprocess.Popen([sys.executable, "-c", CONCURRENT_JOB.format(stage=stage), str(REPO / "params.yaml"),
                              str(tmp_path / "results"), str(seed)], cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
            for seed in range(4)]
    seen = [job.communicate(timeout=120)[0].strip() for job in jobs]
    assert all(job.returncode == 0 for job in jobs)
    assert sorted(seen) == ["0", "1", "2", "3"]
