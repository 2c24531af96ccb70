"""The disk fills up (or the folder refuses writes) while `train` writes its resumable
checkpoint: the stage fails with a message naming the file, the previous checkpoint survives
byte for byte, and once the write can succeed again the run resumes from it and finishes."""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.conftest import env_with_venv, tiny_params
from tests.pipeline.test_train import prepared, run_folder

LIMIT = 1 << 20  # bytes a process may write to one file: the "disk" fills up at 1 MiB


def train(ws: Path, limit: int | None = None) -> subprocess.Popen:
    def limited():  # Python ignores SIGXFSZ, so the write fails with EFBIG instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.Popen([sys.executable, "-m", "pipeline_src", "train", "--variant", "ns_mlp_digits",
                             "--seed", "0"], cwd=ws, env=env_with_venv(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, preexec_fn=limited if limit else None)


def checkpointed(run_stage, tmp_path) -> tuple[Path, Path, bytes, int]:
    """A digits run stopped by SIGTERM between checkpoints: (workspace, its resume checkpoint,
    the checkpoint's bytes, its step)."""
    params = tiny_params()
    params["train"].update(steps=400, checkpoint_every=200, snapshot_every=0, sample_every=10_000, log_every=50)
    ws = prepared(run_stage, tmp_path, params, "digits")
    resume = run_folder(ws, "ns_mlp_digits") / ".resume" / "checkpoint.pt"

    proc = train(ws)  # SIGTERM once it has started: it writes its checkpoint and exits 143
    deadline = time.monotonic() + 120
    while not resume.is_file() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # the step-0 checkpoint is written just before the SIGTERM handler is installed
    proc.terminate()
    assert proc.wait(timeout=120) == 143, proc.stderr.read()
    before = resume.read_bytes()
    step = torch.load(resume, weights_only=False)["state"]["step"]
    assert 0 < step < 200
    return ws, resume, before, step


def resumes_to_the_end(ws: Path, resume: Path, step: int) -> None:
    proc = train(ws)
    err = proc.stderr.read()
    assert proc.wait(timeout=300) == 0, err
    assert f"resuming from step {step}" in err
    assert torch.load(resume.parent.parent / "generator.pt", weights_only=True)["step"] == 400


def test_a_full_disk_during_a_checkpoint_keeps_the_previous_one_and_names_the_file(tmp_path, run_stage):
    ws, resume, before, step = checkpointed(run_stage, tmp_path)
    assert len(before) > LIMIT  # the next checkpoint, at step 200, cannot fit

    proc = train(ws, LIMIT)
    err = proc.stderr.read()
    assert proc.wait(timeout=300) == 1, err
    assert f"{resume.relative_to(ws)}: cannot write (File too large)" in err and "the previous version, if any, is kept" in err
    assert resume.read_bytes() == before  # the last good state is intact
    assert sorted(p.name for p in resume.parent.iterdir()) == ["checkpoint.pt"]  # no temp file left behind
    assert not (resume.parent.parent / "generator.pt").exists()  # nothing a driver would take as done

    resumes_to_the_end(ws, resume, step)  # room again: it resumes from the surviving checkpoint


def test_a_folder_that_refuses_writes_keeps_the_previous_checkpoint_and_names_the_file(tmp_path, run_stage):
    """Permissions do not stop root (CI runs as root), the immutable attribute does."""
    ws, resume, before, step = checkpointed(run_stage, tmp_path)
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(resume.parent)]).returncode:
        pytest.skip("chattr +i is not available here (needs CAP_LINUX_IMMUTABLE and ext4/xfs/btrfs)")
    try:
        proc = train(ws)
        err = proc.stderr.read()
        assert proc.wait(timeout=300) == 1, err
        assert f"{resume.relative_to(ws)}: cannot write (Operation not permitted)" in err, err
        assert "the previous version, if any, is kept" in err and "Traceback" not in err
    finally:
        subprocess.run(["chattr", "-i", str(resume.parent)], check=True)
    assert resume.read_bytes() == before
    assert sorted(p.name for p in resume.parent.iterdir()) == ["checkpoint.pt"]
    assert not (resume.parent.parent / "generator.pt").exists()
    resumes_to_the_end(ws, resume, step)
