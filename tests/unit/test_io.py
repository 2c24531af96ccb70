"""Atomic outputs: a failure mid-write leaves the old file (or nothing), never a partial one."""

import os

import pytest

from pipeline_src.io import atomic_dir, atomic_path, atomic_write_bytes, torch_bytes


def test_atomic_write_replaces_whole_file(tmp_path):
    target = tmp_path / "out.bin"
    atomic_write_bytes(target, b"old")
    atomic_write_bytes(target, b"new content")
    assert target.read_bytes() == b"new content"
    assert os.listdir(tmp_path) == ["out.bin"]


def test_failure_mid_write_keeps_previous_file_and_no_temp(tmp_path):
    target = tmp_path / "out.bin"
    atomic_write_bytes(target, b"previous")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("killed")
    assert target.read_bytes() == b"previous"
    assert os.listdir(tmp_path) == ["out.bin"]


def test_failed_folder_build_leaves_no_folder(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_dir(tmp_path / "raw") as tmp:
            (tmp / "a").write_text("x")
            raise RuntimeError("killed")
    assert os.listdir(tmp_path) == []


def test_folder_build_replaces_old_folder_whole(tmp_path):
    with atomic_dir(tmp_path / "raw") as tmp:
        (tmp / "old").write_text("1")
    with atomic_dir(tmp_path / "raw") as tmp:
        (tmp / "new").write_text("2")
    assert os.listdir(tmp_path / "raw") == ["new"]
    assert os.listdir(tmp_path) == ["raw"]


def test_outputs_get_the_usual_file_mode(tmp_path):
    atomic_write_bytes(tmp_path / "f", b"x")
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "f").stat().st_mode & 0o777 == 0o666 & ~mask


def test_torch_bytes_do_not_depend_on_file_name():
    import torch

    obj = {"x": torch.arange(12, dtype=torch.uint8).reshape(3, 4)}
    assert torch_bytes(obj) == torch_bytes({"x": obj["x"].clone()})


FILE_TOO_LARGE = """
import resource, sys
from pipeline_src.io import atomic_write_bytes
target = sys.argv[1]
atomic_write_bytes(target, b"previous checkpoint")
resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))  # as if the disk filled up at 1 MiB
try:
    atomic_write_bytes(target, b"x" * (4 << 20))
except OSError as e:
    print(e.strerror)
"""


def test_a_write_that_fails_for_lack_of_space_names_the_file_and_keeps_the_previous_one(tmp_path):
    import subprocess
    import sys

    target = tmp_path / "checkpoint.pt"
    out = subprocess.run([sys.executable, "-c", FILE_TOO_LARGE, str(target)], capture_output=True, text=True,
                         check=True).stdout
    assert f"{target}: cannot write" in out and "previous version, if any, is kept" in out
    assert target.read_bytes() == b"previous checkpoint"
    assert os.listdir(tmp_path) == ["checkpoint.pt"]  # no temporary file left
