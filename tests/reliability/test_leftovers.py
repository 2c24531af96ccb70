"""What a killed job leaves beside an output (`.name.XXXXXXXX.tmp`, `.name.XXXXXXXX.old`) is not
data: DVC ignores it (under results/data it would change the hash of the folder every train
stage depends on, and retrain every run), and the next writer of that output removes it."""

from __future__ import annotations

from pathlib import Path

from pipeline_src.io import atomic_write_bytes, sweep_leftovers
from tests.conftest import cli, run, tiny_params, write_params


def test_the_next_writer_removes_its_outputs_leftovers_and_nothing_else(tmp_path):
    ours = [tmp_path / ".train.pt.abcd_123.tmp", tmp_path / ".raw.x1y2z3w4.old"]
    others = [tmp_path / ".test.pt.abcd_123.tmp", tmp_path / ".train.pt.tmp", tmp_path / "train.pt.abcd_123.tmp",
              tmp_path / ".train.pt.png.abcd_123.tmp"]
    ours[0].write_bytes(b"half a tensor")
    (ours[1] / "raw").mkdir(parents=True)
    for p in others:
        p.write_bytes(b"")
    atomic_write_bytes(tmp_path / "train.pt", b"new")
    sweep_leftovers(tmp_path / "raw")
    assert not any(p.exists() for p in ours)
    assert all(p.exists() for p in others)
    assert (tmp_path / "train.pt").read_bytes() == b"new"


def test_the_shared_feature_cache_keeps_another_jobs_file_in_progress(tmp_path):
    in_progress = tmp_path / ".classifier-k.npz.abcd1234.tmp"
    in_progress.write_bytes(b"being written by another job")
    atomic_write_bytes(tmp_path / "classifier-k.npz", b"ours", shared=True)
    assert in_progress.exists()


def test_leftovers_under_results_data_do_not_change_dvc_status_and_go_at_the_next_prepare(workspace: Path):
    params = tiny_params()
    params["datasets"] = {"ring8": params["datasets"]["ring8"]}
    params["variants"] = {"ns_toy_ring8": params["variants"]["ns_toy_ring8"]}
    params["train"]["seeds"] = [0]
    write_params(workspace, params)
    run(["dvc", "repro"], cwd=workspace)
    data = workspace / "results/data/ring8"
    leftovers = [data / ".train.pt.abcd1234.tmp", data / "raw/.manifest.json.abcd1234.tmp"]
    for p in leftovers:
        p.write_bytes(b"what a killed job left")
    assert "Data and pipelines are up to date" in run(["dvc", "status"], cwd=workspace).stdout
    cli(["prepare", "--dataset", "ring8"], cwd=workspace)
    assert not leftovers[0].exists()
