"""Stage `download` against a real HTTP server on 127.0.0.1 and local mirror folders:
checksums, retries with backoff, 404s, transfers cut mid-way, atomic output."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from pipeline_src.datasets import RawFile
from pipeline_src.download import verify
from tests.conftest import cli, default_params, write_params
from tests.unit.test_images import idx_bytes

MNIST_FILES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
               "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
FAST = {"retries": 3, "backoff_s": 0.01, "timeout_s": 10}
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def tiny_mnist(n_train: int = 40, n_test: int = 20, seed: int = 0) -> dict[str, bytes]:
    """The four MNIST files in IDX format, gzipped, with random 28x28 images."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": np.arange(n_train, dtype=np.uint8) % 10,
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": np.arange(n_test, dtype=np.uint8) % 10,
    }
    return {name: gzip.compress(idx_bytes(a), mtime=0) for name, a in arrays.items()}


def mnist_params(mirrors: list[str], files: dict[str, bytes], **download) -> dict:
    params = default_params()
    params["download"] = {**FAST, **download}
    params["datasets"] = {"mnist": {"mirrors": mirrors, "side": 32, "resize": "pad",
                                    "checksums": {n: md5(b) for n, b in files.items()}}}
    params["variants"] = {"ns_mlp_mnist": {"dataset": "mnist", "model": "mlp", "loss": "non_saturating"}}
    params["report"]["comparisons"] = []  # its variants are gone
    return params


def serve(file_server, prefix: str, files: dict[str, bytes], **route) -> str:
    for name, body in files.items():
        file_server.add(f"{prefix}/{name}", body, **route)
    return f"{file_server.url}{prefix}/"


@pytest.fixture
def download(run_stage):
    def _download(tmp_path: Path, params: dict, check: bool = True):
        write_params(tmp_path, params)
        return run_stage(tmp_path, "download", "--dataset", next(iter(params["datasets"])), check=check)

    return _download


def test_download_over_http_verifies_and_records_every_file(tmp_path, file_server):
    files = tiny_mnist()
    url = serve(file_server, "/mnist", files)
    write_params(tmp_path, mnist_params([url], files))
    proc = cli(["download", "--dataset", "mnist"], cwd=tmp_path)  # the real entry point, as a subprocess
    # its progress, in a log (no terminal): a line per file at the end (and every 10 s before)
    for name, body in files.items():
        assert f"download {name}: {len(body) / 1e6:.2f}/{len(body) / 1e6:.2f} MB (" in proc.stderr, proc.stderr
    raw = tmp_path / "results/data/mnist/raw"
    for name, body in files.items():
        assert (raw / name).read_bytes() == body
    manifest = json.loads((raw / "manifest.json").read_text())
    assert {n: e["md5"] for n, e in manifest["files"].items()} == {n: md5(b) for n, b in files.items()}
    assert all(e["source"] == url for e in manifest["files"].values())
    assert sorted(file_server.requests) == sorted(f"/mnist/{n}" for n in files)


def test_checksum_mismatch_is_retried_then_fails_naming_file_and_checksum(tmp_path, file_server, download):
    files = tiny_mnist()
    params = mnist_params([serve(file_server, "/mnist", {**files, MNIST_FILES[0]: b"not the file"})], files)
    proc = download(tmp_path, params, check=False)
    assert proc.returncode == 2
    assert f"{MNIST_FILES[0]}: no mirror delivered the file with md5 {md5(files[MNIST_FILES[0]])}" in proc.stderr
    assert f"checksum mismatch: md5 {md5(b'not the file')}" in proc.stderr
    assert file_server.requests.count(f"/mnist/{MNIST_FILES[0]}") == FAST["retries"]
    assert not (tmp_path / "results/data/mnist/raw").exists()  # nothing half-written
    assert list((tmp_path / "results/data/mnist").iterdir()) == []


def test_404_moves_to_the_next_mirror_without_retrying(tmp_path, file_server, download):
    files = tiny_mnist()
    good = serve(file_server, "/mirror2", files)
    download(tmp_path, mnist_params([f"{file_server.url}/gone/", good], files))
    assert file_server.requests.count(f"/gone/{MNIST_FILES[0]}") == 1
    manifest = json.loads((tmp_path / "results/data/mnist/raw/manifest.json").read_text())
    assert {e["source"] for e in manifest["files"].values()} == {good}


def test_404_on_every_mirror_fails_naming_the_urls(tmp_path, file_server, download):
    files = tiny_mnist()
    proc = download(tmp_path, mnist_params([f"{file_server.url}/a/", f"{file_server.url}/b/"], files), check=False)
    assert proc.returncode == 2
    assert f"{file_server.url}/a/{MNIST_FILES[0]}: HTTP 404" in proc.stderr
    assert f"{file_server.url}/b/{MNIST_FILES[0]}: HTTP 404" in proc.stderr
    assert not (tmp_path / "results/data/mnist/raw").exists()


def test_transfer_cut_mid_way_is_fetched_again(tmp_path, file_server, download):
    files = tiny_mnist()
    url = serve(file_server, "/mnist", files, cut_times=1)
    proc = download(tmp_path, mnist_params([url], files))
    assert "transfer cut short" in proc.stderr
    for name, body in files.items():
        assert file_server.requests.count(f"/mnist/{name}") == 2
        assert (tmp_path / "results/data/mnist/raw" / name).read_bytes() == body


def test_transfer_cut_every_time_fails_and_leaves_nothing(tmp_path, file_server, download):
    files = tiny_mnist()
    url = serve(file_server, "/mnist", files, cut_times=100)
    proc = download(tmp_path, mnist_params([url], files), check=False)
    assert proc.returncode == 2
    assert f"{url}{MNIST_FILES[0]}: transfer cut short" in proc.stderr
    assert f"(after {FAST['retries']} attempts)" in proc.stderr
    assert not (tmp_path / "results/data/mnist/raw").exists()
    leftovers = [p for p in (tmp_path / "results").rglob("*") if p.is_file() and ".stamps" not in p.parts]
    assert leftovers == []  # (the params stamp is bookkeeping for the drivers, not an output)


def test_server_errors_are_retried(tmp_path, file_server, download):
    files = tiny_mnist()
    url = serve(file_server, "/mnist", files, status=503)
    proc = download(tmp_path, mnist_params([url], files), check=False)
    assert proc.returncode == 2
    assert file_server.requests.count(f"/mnist/{MNIST_FILES[0]}") == FAST["retries"]
    assert "HTTP 503" in proc.stderr


def test_local_folder_comes_first_and_a_corrupt_copy_falls_back_to_the_url(tmp_path, file_server, download):
    files = tiny_mnist()
    local = tmp_path / "mirror"
    local.mkdir()
    for name, body in files.items():
        (local / name).write_bytes(body)
    (local / MNIST_FILES[1]).write_bytes(files[MNIST_FILES[1]][:-5])  # truncated copy
    url = serve(file_server, "/mnist", files)
    proc = download(tmp_path, mnist_params([str(local), url], files))
    assert file_server.requests == [f"/mnist/{MNIST_FILES[1]}"]
    assert f"{local / MNIST_FILES[1]}: checksum mismatch" in proc.stderr
    sources = json.loads((tmp_path / "results/data/mnist/raw/manifest.json").read_text())["files"]
    assert sources[MNIST_FILES[1]]["source"] == url and sources[MNIST_FILES[0]]["source"] == str(local)


def test_recompressed_copy_is_accepted_by_the_md5_of_its_content(tmp_path):
    payload = idx_bytes(np.arange(784, dtype=np.uint8).reshape(1, 28, 28))
    published = gzip.compress(payload, mtime=0)
    recompressed = gzip.compress(payload, compresslevel=1, mtime=12345)
    assert md5(published) != md5(recompressed)
    raw = RawFile("f.gz", md5(published), {"": md5(payload)})
    (tmp_path / "f.gz").write_bytes(recompressed)
    assert verify(tmp_path / "f.gz", raw) is None
    (tmp_path / "f.gz").write_bytes(gzip.compress(payload[:-1]))
    assert verify(tmp_path / "f.gz", raw).startswith("md5 ")


@pytest.mark.skipif(not DEBIAN_FASHION.is_dir(), reason="Debian package dataset-fashion-mnist not installed")
def test_debian_fashion_mnist_passes_torchvisions_checksums_by_content(tmp_path, download):
    params = default_params()
    params["download"] = FAST
    params["datasets"] = {"fashion_mnist": {"mirrors": [str(DEBIAN_FASHION)]}}
    params["variants"] = {"v": {"dataset": "fashion_mnist", "model": "dcgan", "loss": "hinge"}}
    params["report"]["comparisons"] = []  # its variants are gone
    download(tmp_path, params)
    manifest = json.loads((tmp_path / "results/data/fashion_mnist/raw/manifest.json").read_text())
    assert sorted(manifest["files"]) == sorted(MNIST_FILES)
