"""SIGKILL of the `report` stage at several moments: every report file left behind is either
the previous complete version or a complete new one, and a rerun completes."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from tests.conftest import env_with_venv


def complete(report: Path) -> dict[str, bytes]:
    """Every file of results/report/, each checked to be whole; temp leftovers must be hidden."""
    files = {}
    for path in sorted(report.rglob("*")):
        rel = str(path.relative_to(report))
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
        files[rel] = path.read_bytes()
    return files


def report(ws: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "pipeline_src", "report"], cwd=ws, env=env_with_venv(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.mark.parametrize("fraction", [0.15, 0.5, 0.75, 0.9])  # of an uninterrupted run: reading ... writing
def test_a_killed_report_leaves_only_complete_files(sweep, tmp_path, fraction):
    ws, _ = sweep
    copy = tmp_path / "ws"
    shutil.copytree(ws, copy)
    folder = copy / "results/report"
    before = complete(folder)
    start = time.perf_counter()
    assert report(copy).wait(timeout=300) == 0
    duration = time.perf_counter() - start
    # a warm rerun can be faster than the first run: kill earlier until the kill lands mid-run
    delay = fraction * duration
    for _ in range(8):
        proc = report(copy)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        if proc.wait(timeout=60) == -signal.SIGKILL:
            break  # killed while working, not after
        assert set(complete(folder)) == set(before)  # it finished: a complete report again
        delay *= 0.8
    else:
        pytest.fail(f"report always finished before the kill (last delay {delay:.2f} s)")
    assert set(complete(folder)) == set(before)  # nothing lost, nothing partial under an output's name
    assert report(copy).wait(timeout=300) == 0  # and a rerun completes
    assert set(complete(folder)) == set(before)
