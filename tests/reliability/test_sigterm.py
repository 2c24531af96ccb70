"""SIGTERM (what Slurm sends at the time limit, and `kill` by default) lands on `train` at
random moments of its training loop: it checkpoints the exact step it reached, exits 143, and
the rerun resumes from that step and ends with the weights and log of an uninterrupted run,
bit for bit (CPU). SIGKILL at random moments: the rerun resumes from the last periodic
checkpoint and ends bit for bit the same; SIGKILL while the outputs are being written leaves
the run incomplete and resumable, and the rerun writes the uninterrupted run's outputs."""

from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch

from tests.conftest import env_with_venv, stage, tiny_params, write_params
from tests.pipeline.test_train import _launch, _wait_for_line, read_log, run_folder, same_weights

VARIANT = "ns_toy_ring8"
STEPS = 1500  # a few seconds of the toy loop: room for a random moment inside it


def params() -> dict:
    p = tiny_params()
    p["train"].update(steps=STEPS, log_every=50, checkpoint_every=500, sample_every=10_000, snapshot_every=0)
    return p


def prepared_workspace(path):
    path.mkdir(parents=True)
    write_params(path, params())
    stage(path, "download", "--dataset", "ring8")
    stage(path, "prepare", "--dataset", "ring8")
    return path


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """An uninterrupted run as a process of its own, and how long its loop ran from the first log line to the last."""
    ws = prepared_workspace(tmp_path_factory.mktemp("sigterm") / "reference")
    proc = _launch(ws, VARIANT)
    _wait_for_line(proc, "step 50/")
    started = time.perf_counter()
    _wait_for_line(proc, f"step {STEPS}/")
    loop_s = time.perf_counter() - started
    proc.stderr.read()
    assert proc.wait(timeout=300) == 0
    return run_folder(ws, VARIANT), loop_s


def timeless(rows: list[dict]) -> list[dict]:
    """log.csv rows without the columns that time the machine."""
    return [{k: v for k, v in r.items() if k not in ("wall_s", "images_per_s")} for r in rows]


def signal_inside_the_loop(ws, sig: int, delay: float, stopped, finished) -> tuple[str, float]:
    """Launch the run, send `sig` `delay` s after its step-50 line; (stderr, delay) of the first
    attempt that `stopped(code)` accepts. A loaded machine can run the loop faster or slower than
    measured: an attempt that ended first is checked by `finished(code, err)`, removed, and the
    next one aims earlier."""
    folder = run_folder(ws, VARIANT)
    for _ in range(6):
        proc = _launch(ws, VARIANT)
        _wait_for_line(proc, "step 50/")
        time.sleep(delay)
        proc.send_signal(sig)
        err = proc.stderr.read()
        code = proc.wait(timeout=60)
        if stopped(code):
            return err, delay
        finished(code, err)
        shutil.rmtree(folder)
        delay *= 0.5
    pytest.fail(f"the run always finished before signal {sig} (last delay {delay:.2f} s)")


@pytest.mark.parametrize("kill_seed", [0, 1, 2])
def test_sigterm_at_a_random_moment_resumes_to_the_uninterrupted_weights(tmp_path, uninterrupted, kill_seed):
    reference, loop_s = uninterrupted
    ws = prepared_workspace(tmp_path / "ws")
    folder = run_folder(ws, VARIANT)

    def finished(code, err):
        # finished before the signal (or was stopped in the interpreter's exit after its last
        # line, -15): a complete run
        assert code == 0 or (code == -signal.SIGTERM and f"train {VARIANT} seed 0: {STEPS} steps" in err), err
        assert not (folder / ".resume").exists()
        assert same_weights(folder, reference)

    delay = random.Random(kill_seed).uniform(0.05, 0.9) * loop_s  # inside the loop, past step 50
    err, delay = signal_inside_the_loop(ws, signal.SIGTERM, delay, lambda code: code == 143, finished)
    step = int(err.split("SIGTERM at step ")[1].split(":")[0])
    assert 50 <= step < STEPS
    assert not (folder / "generator.pt").exists()  # no output a driver would take as complete

    rerun = _launch(ws, VARIANT)
    err = rerun.stderr.read()
    assert rerun.wait(timeout=300) == 0, err
    assert f"resuming from step {step} " in err  # the step it was stopped at, not the last periodic checkpoint
    assert same_weights(folder, reference)
    assert timeless(read_log(folder)) == timeless(read_log(reference))
    print(f"SIGTERM after {delay:.2f} s at step {step} of {STEPS}")


@pytest.mark.parametrize("kill_seed", [0, 1, 2])
def test_sigkill_at_a_random_moment_resumes_from_the_last_checkpoint_to_the_uninterrupted_weights(
        tmp_path, uninterrupted, kill_seed):
    """SIGKILL (the OOM killer, a node lost) gives the run no chance to checkpoint: the rerun
    starts from the last periodic checkpoint (or step 0) and still ends bit for bit where the
    uninterrupted run did."""
    reference, loop_s = uninterrupted
    ws = prepared_workspace(tmp_path / "ws")
    folder = run_folder(ws, VARIANT)
    def stopped(code):  # killed inside the loop: no output a driver would take as complete
        return code == -signal.SIGKILL and not (folder / "generator.pt").exists()

    def finished(code, err):  # finished (or was writing its outputs)
        assert code in (0, -signal.SIGKILL), err

    delay = random.Random(100 + kill_seed).uniform(0.4, 0.95) * loop_s  # mostly past the first checkpoint
    _, delay = signal_inside_the_loop(ws, signal.SIGKILL, delay, stopped, finished)
    rerun = _launch(ws, VARIANT)
    err = rerun.stderr.read()
    assert rerun.wait(timeout=300) == 0, err
    resumed = int(err.split("resuming from step ")[1].split()[0]) if "resuming from step " in err else 0
    assert resumed % params()["train"]["checkpoint_every"] == 0 and resumed < STEPS
    assert same_weights(folder, reference)
    assert timeless(read_log(folder)) == timeless(read_log(reference))
    print(f"SIGKILL after {delay:.2f} s; resumed from step {resumed} of {STEPS}")


# Runs `python -m pipeline_src train ...` with one change: once the training loop is over, the
# process SIGKILLs itself right after the k-th output file of `finish` is in place (1
# diagnostics.json, 2 log.csv, 3 generator.pt, 4 checkpoint.pt, 5 options.json). A kill
# timed from outside cannot land in that window reliably: the writes take milliseconds.
KILL_AFTER_WRITES = """
import os, signal, sys
import pipeline_src.stages.train as train

written = 0

def counted(write):
    def wrapper(*args, **kwargs):
        global written
        result = write(*args, **kwargs)
        written += 1
        if written == int(os.environ["KILL_AFTER_WRITES"]):
            os.kill(os.getpid(), signal.SIGKILL)
        return result
    return wrapper

finish = train.finish

def killed_in_finish(*args, **kwargs):
    train.atomic_write_bytes = counted(train.atomic_write_bytes)
    train.atomic_write_json = counted(train.atomic_write_json)
    train.atomic_write_lines = counted(train.atomic_write_lines)  # log.csv
    return finish(*args, **kwargs)

train.finish = killed_in_finish
from pipeline_src.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("writes", [1, 3, 4])
def test_sigkill_while_the_outputs_are_written_leaves_a_run_that_resumes_to_the_uninterrupted_outputs(
        tmp_path, uninterrupted, writes):
    reference, _ = uninterrupted
    ws = prepared_workspace(tmp_path / "ws")
    folder = run_folder(ws, VARIANT)
    script = tmp_path / "kill_in_finish.py"
    script.write_text(KILL_AFTER_WRITES)
    killed = subprocess.run([sys.executable, str(script), "train", "--variant", VARIANT, "--seed", "0"], cwd=ws,
                            env={**env_with_venv(), "KILL_AFTER_WRITES": str(writes)}, capture_output=True,
                            text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    outputs = ["diagnostics.json", "log.csv", "generator.pt", "checkpoint.pt", "options.json"]
    present = [name for name in outputs if (folder / name).exists()]
    # log.csv is there from the start, growing while the run trains: then rewritten whole
    assert set(present) == set(outputs[:writes]) | {"log.csv"}
    for name in present:  # each one whole
        if name.endswith(".json"):
            json.loads((folder / name).read_text())
        elif name.endswith(".csv"):
            assert len(read_log(folder)) == STEPS // params()["train"]["log_every"]
        else:
            torch.load(folder / name, weights_only=False)
    assert not (folder / "options.json").exists() and (folder / ".resume" / "checkpoint.pt").is_file()

    rerun = _launch(ws, VARIANT)
    err = rerun.stderr.read()
    assert rerun.wait(timeout=300) == 0, err
    every = params()["train"]["checkpoint_every"]
    assert f"resuming from step {(STEPS - 1) // every * every} " in err  # the last periodic checkpoint before the end
    assert same_weights(folder, reference)
    assert timeless(read_log(folder)) == timeless(read_log(reference))
    for name in ("generator.pt", "diagnostics.json"):
        assert (folder / name).read_bytes() == (reference / name).read_bytes(), name
    assert not (folder / ".resume").exists()
