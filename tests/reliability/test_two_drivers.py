"""Two drivers at once in one workspace (real `dvc repro` and `snakemake` processes): the second
refuses with a message naming the lock and the running driver, before it touches a file, and the
first finishes a complete, valid sweep that its own driver then reports as up to date. The
first driver's train job is paused (SIGSTOP) while both kinds of second driver try, so the first
is mid-sweep for as long as they take, on any machine.

Two `dvc repro`: DVC's output locks (.dvc/tmp/rwlock). Two `snakemake`: Snakemake's directory
lock (.snakemake/locks). One of each: Snakemake holds DVC's repository lock (.dvc/tmp/lock)
while it runs and refuses to start while DVC holds it or lists a live stage in its rwlock
(pipeline_src/workspace.py); without that, each would delete and rewrite the other's outputs."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import assert_sweep_complete, env_with_venv, run, tiny_params, write_params

COMMANDS = {"dvc": ["dvc", "repro"], "snakemake": ["snakemake", "--cores", "2"]}
# A plain second Snakemake stops even earlier, at the running jobs' outputs it sees as incomplete
# (IncompleteFilesException); --rerun-incomplete, which would rerun them, reaches the lock.
SECOND = {**COMMANDS, "snakemake": [*COMMANDS["snakemake"], "--rerun-incomplete"]}
REFUSALS = {  # (first, second) -> what the second says
    ("dvc", "dvc"): "is busy, it is being blocked by:\n  (PID {pid}): ",
    ("snakemake", "snakemake"): "Error: Directory cannot be locked.",
    ("dvc", "snakemake"): "the workspace is in use by",
    ("snakemake", "dvc"): "ERROR: Unable to acquire lock. Most likely another DVC process is running",
}


def two_run_params() -> dict:
    params = tiny_params()
    params["datasets"] = {"ring8": params["datasets"]["ring8"]}
    ring8 = params["variants"]["ns_toy_ring8"]
    params["variants"] = {"ns_toy_ring8": ring8, "hinge_ring8": {**ring8, "loss": "hinge"}}
    params["train"].update(seeds=[0], steps=600, log_every=100, checkpoint_every=100, sample_every=600,
                           snapshot_every=0)
    return params


def start(ws: Path, command: list[str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=ws, env=env_with_venv(), stdout=log.open("w"),
                            stderr=subprocess.STDOUT, text=True)


def train_jobs(ws: Path) -> list[int]:
    """PIDs of the `pipeline_src train` processes working in `ws`."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            if b"pipeline_src" in argv and b"train" in argv and Path(os.readlink(proc / "cwd")) == ws:
                pids.append(int(proc.name))
        except (OSError, ValueError):
            continue  # not a process, or gone
    return pids


@contextlib.contextmanager
def first_driver_paused_in_training(proc: subprocess.Popen, ws: Path, log: Path):
    """Until a train job of the first driver is really running (its resumable checkpoint exists),
    then that job stopped (SIGSTOP) while the block runs: the first driver is mid-sweep for as
    long as the test needs, whatever the machine's speed; SIGCONT afterwards."""
    deadline = time.monotonic() + 240
    while not (any((ws / "results/runs").glob("*/seed0/.resume/checkpoint.pt")) and (paused := train_jobs(ws))):
        assert proc.poll() is None, f"the first driver ended before training:\n{log.read_text()}"
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)
    for pid in paused:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in paused:
            os.kill(pid, signal.SIGCONT)


def up_to_date(ws: Path, driver: str) -> bool:
    if driver == "dvc":
        return "Data and pipelines are up to date" in run(["dvc", "status"], cwd=ws).stdout
    return "Nothing to be done" in run(["snakemake", "--cores", "1", "-n"], cwd=ws).stdout


@pytest.mark.parametrize("first", list(COMMANDS))
def test_a_second_driver_of_either_kind_refuses_and_the_first_completes(workspace, tmp_path, first):
    params = two_run_params()
    write_params(workspace, params)
    first_log = tmp_path / f"first-{first}.log"
    proc = start(workspace, COMMANDS[first], first_log)
    with first_driver_paused_in_training(proc, workspace, first_log):
        running = sorted(p.relative_to(workspace) for p in (workspace / "results").rglob("*") if p.is_file())
        for second in COMMANDS:
            second_log = tmp_path / f"second-{second}.log"
            other = start(workspace, SECOND[second], second_log)
            assert other.wait(timeout=120) != 0, second_log.read_text()
            said = second_log.read_text()
            assert REFUSALS[first, second].format(pid=proc.pid) in said, said
            if (first, second) == ("dvc", "snakemake"):  # ours: names DVC's lock file and the process
                assert f"PID {proc.pid}: " in said and "run snakemake when it has finished" in said, said
                assert ".dvc/tmp/" in said, said
            assert proc.poll() is None  # the refusal came while the first was still running ...
            assert all((workspace / p).exists() for p in running), second  # ... and deleted none of its files

    assert proc.wait(timeout=300) == 0, first_log.read_text()
    assert_sweep_complete(workspace, params)
    assert up_to_date(workspace, first)
