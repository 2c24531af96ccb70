"""SIGKILL of `prepare`, `reference`, `evaluate` and `report` at several moments of their run:
every output file left behind is either the previous complete version or a complete new one
(temp files are hidden and never under an output's name), and a rerun completes."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from tests.conftest import env_with_venv


def complete(folder: Path) -> dict[str, bytes]:
    """Every file under an output folder, each checked to be whole; temp leftovers must be hidden."""
    files = {}
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        if any(part.startswith(".") for part in Path(rel).parts):
            # an interrupted atomic write leaves its temp file (".name.xxx.tmp") or a folder
            # moved aside (".figures.xxx.old"): never under an output's name
            assert any(part.endswith((".tmp", ".old")) for part in Path(rel).parts), rel
            continue
        if not path.is_file():
            continue
        if path.suffix == ".csv":
            pd.read_csv(path)
        elif path.suffix == ".html":
            assert path.read_text().rstrip().endswith("</html>"), rel
        elif path.suffix == ".png":
            with Image.open(path) as image:
                image.load()
        elif path.suffix == ".svg":
            ET.parse(path)
        elif path.suffix == ".md":
            assert path.read_text().endswith("\n"), rel
        elif path.suffix == ".json":
            json.loads(path.read_text())
        elif path.suffix == ".pt":
            torch.load(path, weights_only=True)
        elif path.suffix == ".npz":
            with np.load(path) as arrays:
                [arrays[k] for k in arrays.files]
        files[rel] = path.read_bytes()
    return files


STAGES = {  # stage -> (arguments, the output folder it writes into)
    "prepare": (["--dataset", "digits"], "results/data/digits"),
    "reference": (["--dataset", "digits"], "results/features/digits"),
    "evaluate": (["--variant", "ns_mlp_digits", "--seed", "0"], "results/metrics/ns_mlp_digits"),
    "report": ([], "results/report"),
}
DURATIONS: dict[str, float] = {}  # stage -> seconds of an uninterrupted rerun
CASES = [("report", f) for f in (0.15, 0.5, 0.75, 0.9)] + [  # of an uninterrupted run: reading ... writing
    (name, f) for name in ("prepare", "reference", "evaluate") for f in (0.5, 0.9)]


def start(ws: Path, name: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "pipeline_src", name, *STAGES[name][0]], cwd=ws,
                            env=env_with_venv(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.mark.parametrize("name, fraction", CASES)
def test_a_killed_stage_leaves_only_complete_files(sweep, tmp_path, name, fraction):
    ws, _ = sweep
    copy = tmp_path / "ws"
    shutil.copytree(ws, copy)
    folder = copy / STAGES[name][1]
    before = complete(folder)
    if name not in DURATIONS:  # an uninterrupted rerun, timed once per stage
        started = time.perf_counter()
        assert start(copy, name).wait(timeout=300) == 0
        DURATIONS[name] = time.perf_counter() - started
    duration = DURATIONS[name]
    # a warm rerun can be faster than the first run: kill earlier until the kill lands mid-run
    delay = fraction * duration
    for _ in range(8):
        proc = start(copy, name)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        if proc.wait(timeout=60) == -signal.SIGKILL:
            break  # killed while working, not after
        assert set(complete(folder)) == set(before)  # it finished: a complete report again
        delay *= 0.8
    else:
        pytest.fail(f"{name} always finished before the kill (last delay {delay:.2f} s)")
    assert set(complete(folder)) == set(before)  # nothing lost, nothing partial under an output's name
    assert start(copy, name).wait(timeout=300) == 0  # and a rerun completes
    assert set(complete(folder)) == set(before)
