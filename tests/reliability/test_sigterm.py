"""SIGTERM (what Slurm sends at the time limit, and `kill` by default) lands on `train` at
random moments of its training loop: it checkpoints the exact step it reached, exits 143, and
the rerun resumes from that step and ends with the weights and log of an uninterrupted run,
bit for bit (CPU). SIGKILL at random moments: the rerun resumes from the last periodic
checkpoint and ends bit for bit the same."""

from __future__ import annotations

import random
import shutil
import signal
import time

import pytest

from tests.conftest import stage, tiny_params, write_params
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
