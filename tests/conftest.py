"""Shared fixtures: a throw-away copy of the project, the CLI as a subprocess,
and a real HTTP server on 127.0.0.1 for the download tests."""

from __future__ import annotations

import copy
import hashlib
import http.server
import os
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
# What a workspace needs: the drivers' files and the package (stage sources are inputs).
PROJECT_FILES = ["Snakefile", "dvc.yaml", "params.yaml", "workflow", "pipeline_src", ".dvc/config", ".dvcignore", ".gitignore"]
VENV_BIN = str(Path(sys.executable).parent)


def env_with_venv() -> dict:
    env = dict(os.environ)
    env["PATH"] = VENV_BIN + os.pathsep + env.get("PATH", "")
    env["DVC_NO_ANALYTICS"] = "1"
    env.setdefault("GIT_AUTHOR_NAME", "test")
    env.setdefault("GIT_AUTHOR_EMAIL", "test@localhost")
    env.setdefault("GIT_COMMITTER_NAME", "test")
    env.setdefault("GIT_COMMITTER_EMAIL", "test@localhost")
    return env


def run(cmd: list[str], cwd: Path, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=env_with_venv(), capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def cli(args: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "pipeline_src", *args], cwd=cwd, check=check)


def default_params() -> dict:
    return yaml.safe_load((REPO / "params.yaml").read_text())


def tiny_params() -> dict:
    """The default params with small toy datasets and short runs: the same jobs, seconds to run.
    No network: the Inception weights are not downloaded (tests that need them pass
    `inception_weights`), so Inception metrics are recorded as unavailable."""
    params = copy.deepcopy(default_params())
    for name in ("gauss1d", "ring8", "grid25"):
        params["datasets"][name].update(n_train=2000, n_test=500)
    params["train"].update(seeds=[0, 1], steps=20, log_every=10, sample_every=10, checkpoint_every=10, snapshot_every=10,
                           toy_width=32, toy_depth=2)
    params["classifier"].update(steps=20, width=8, feature_dim=16)
    params["reference"].update(max_images=32, batch_size=32)
    params["reference"]["inception"].update(url=None)
    params["evaluate"].update(n_samples=32, batch_size=32, select_samples=64)
    params["report"]["comparisons"] = []  # tests pick their own variants
    for options in params["variants"].values():  # a variant's own length and size give way to the tiny ones
        for key in ("steps", "epochs", "toy_width", "toy_depth", "batch_size", "snapshot_every"):
            options.pop(key, None)
    return params


def assert_sweep_complete(ws: Path, params: dict) -> None:
    """Every run's metrics JSON is there and whole (a dict with its run's name and sample count),
    and so is the report's page: what a finished sweep must leave."""
    import json

    for variant in params["variants"]:
        for seed in params["train"]["seeds"]:
            path = ws / f"results/metrics/{variant}/seed{seed}.json"
            metrics = json.loads(path.read_text())
            assert (metrics["variant"], metrics["seed"]) == (variant, seed) and metrics["n_samples"] > 0, path
    assert (ws / "results/report/index.html").read_text().rstrip().endswith("</html>")


def with_inception(params: dict, weights: "InceptionWeights") -> dict:
    params["reference"]["inception"].update(weights=str(weights.path), sha256=weights.sha256)
    return params


def write_params(workdir: Path, params: dict) -> Path:
    path = workdir / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A copy of the project in a fresh git repository (DVC needs one)."""
    ws = tmp_path / "ws"
    ws.mkdir()
    for name in PROJECT_FILES:
        src = REPO / name
        dst = ws / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dst)
    run(["git", "init", "-q"], cwd=ws)
    return ws


@dataclass
class Route:
    body: bytes
    cut_times: int = 0  # the next `cut_times` requests get half the body, then the connection closes
    status: int = 200


@dataclass
class FileServer:
    """A real HTTP server on 127.0.0.1 serving `routes`; `requests` logs every GET path."""

    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    url: str = ""

    def add(self, path: str, body: bytes, cut_times: int = 0, status: int = 200) -> None:
        self.routes[path] = Route(body, cut_times, status)


@pytest.fixture
def file_server():
    state = FileServer()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep test output clean
            pass

        def do_GET(self):
            state.requests.append(self.path)
            route = state.routes.get(self.path)
            if route is None:
                self.send_error(404, "Not Found")
                return
            if route.status != 200:
                self.send_error(route.status)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            if route.cut_times > 0:
                route.cut_times -= 1
                self.wfile.write(route.body[: len(route.body) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)  # the peer sees the transfer end early
                return
            self.wfile.write(route.body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass
class InceptionWeights:
    path: Path
    sha256: str


@pytest.fixture(scope="session")
def inception_weights(tmp_path_factory) -> InceptionWeights:
    """Randomly initialised Inception weights with the real layout, saved to a file once per session."""
    from pipeline_src.features.inception import write_random_weights

    path = tmp_path_factory.mktemp("inception") / "random-inception.pth"
    return InceptionWeights(path, write_random_weights(path))


@dataclass
class StageResult:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def run_stage(monkeypatch, capsys):
    """Run `python -m pipeline_src ARGS` in-process in `workdir` (torch is imported once
    per test session instead of once per call); returns code and captured output."""
    from pipeline_src.cli import main

    def _run(workdir: Path, *args: str, check: bool = True) -> StageResult:
        monkeypatch.chdir(workdir)
        code = main(list(args))
        out = capsys.readouterr()
        result = StageResult(code, out.out, out.err)
        if check and code != 0:
            raise AssertionError(f"{' '.join(args)} exited {code}\nstderr:\n{out.err}")
        return result

    return _run


def pytest_collection_modifyitems(config, items):
    """Tests marked `gpu` run only where CUDA is available."""
    gpu_items = [item for item in items if "gpu" in item.keywords]
    if not gpu_items:
        return
    import torch

    if not torch.cuda.is_available():
        skip = pytest.mark.skip(reason="needs a CUDA device")
        for item in gpu_items:
            item.add_marker(skip)


def stage(workdir: Path, *args: str, check: bool = True) -> int:
    """`python -m pipeline_src ARGS` in-process in workdir (session fixtures cannot use run_stage)."""
    from pipeline_src.cli import main

    old = os.getcwd()
    os.chdir(workdir)
    try:
        code = main(list(args))
    finally:
        os.chdir(old)
    if check and code != 0:
        raise AssertionError(f"{' '.join(args)} exited {code}")
    return code


@pytest.fixture(scope="session")
def sweep(tmp_path_factory) -> tuple[Path, dict]:
    """A finished tiny sweep with every kind of figure: an image dataset, 2-D and 1-D toys,
    BCE and hinge losses, and two named comparisons (one of images: the early-samples figure)."""
    params = tiny_params()
    variants = params["variants"]
    params["variants"] = {k: variants[k] for k in ("mm_mlp_digits", "ns_mlp_digits", "ns_toy_ring8", "ns_toy_gauss1d")}
    params["variants"]["hinge_ring8"] = {**variants["ns_toy_ring8"], "loss": "hinge"}
    params["variants"]["lr_ring8"] = {**variants["ns_toy_ring8"], "lr_g": 1e-3}
    params["report"]["comparisons"] = [["mm_mlp_digits", "ns_mlp_digits"], ["ns_toy_ring8", "lr_ring8"]]
    ws = tmp_path_factory.mktemp("sweep")
    write_params(ws, params)
    for dataset in ("digits", "ring8", "gauss1d"):
        for name in ("download", "prepare", "classifier", "reference"):
            stage(ws, name, "--dataset", dataset)
    for variant in params["variants"]:
        for seed in params["train"]["seeds"]:
            stage(ws, "train", "--variant", variant, "--seed", str(seed))
            stage(ws, "evaluate", "--variant", variant, "--seed", str(seed))
    stage(ws, "report")
    return ws, params
