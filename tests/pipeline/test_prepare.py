"""Stage `prepare` for every dataset: shape, dtype, value range, label set,
meta.json, and determinism (same params -> same sha256)."""

from __future__ import annotations

import io
import json
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

from pipeline_src.datasets.cifar10 import CIFAR10_CLASSES
from pipeline_src.datasets.idx import FASHION_CLASSES
from tests.conftest import default_params, sha256, tiny_params, write_params
from tests.pipeline.test_download import DEBIAN_FASHION, FAST, md5, mnist_params, serve, tiny_mnist


def build(run_stage, workdir: Path, params: dict, dataset: str) -> dict:
    """download + prepare one dataset; returns {"train": ..., "test": ..., "meta": ...}."""
    workdir.mkdir(parents=True, exist_ok=True)
    write_params(workdir, params)
    run_stage(workdir, "download", "--dataset", dataset)
    run_stage(workdir, "prepare", "--dataset", dataset)
    folder = workdir / "results/data" / dataset
    out = {split: torch.load(folder / f"{split}.pt") for split in ("train", "test")}
    out["meta"] = json.loads((folder / "meta.json").read_text())
    out["folder"] = folder
    return out


def check_meta_matches_files(data: dict) -> None:
    meta, folder = data["meta"], data["folder"]
    for split in ("train", "test"):
        x, y = data[split]["x"], data[split]["y"]
        assert meta["n"][split] == len(x) == len(y)
        assert meta["sha256"][f"{split}.pt"] == sha256(folder / f"{split}.pt")
        assert list(x.shape[1:]) == meta["shape"]
        assert meta["class_counts"][split] == np.bincount(y.numpy(), minlength=len(meta["class_counts"][split])).tolist()


def test_digits_are_uint8_nchw_with_ten_classes_and_a_stratified_split(tmp_path, run_stage):
    data = build(run_stage, tmp_path, tiny_params(), "digits")
    x, y = data["train"]["x"], data["train"]["y"]
    assert x.dtype == torch.uint8 and y.dtype == torch.int64
    assert tuple(x.shape) == (1438, 1, 8, 8) and len(data["test"]["x"]) == 359
    assert int(x.max()) == 255 and int(x.min()) == 0  # 0..16 scaled to the full uint8 range
    assert set(y.tolist()) == set(range(10)) == set(data["test"]["y"].tolist())
    meta = data["meta"]
    assert meta["kind"] == "image" and meta["value_range"] == [0, 255] and meta["classes"] == [str(i) for i in range(10)]
    assert meta["source"]["note"] == "bundled with scikit-learn"
    check_meta_matches_files(data)


def test_digits_upscaled_to_16_for_dcgan(tmp_path, run_stage):
    params = tiny_params()
    params["datasets"]["digits"].update(side=16, resize="bilinear")
    data = build(run_stage, tmp_path, params, "digits")
    assert tuple(data["train"]["x"].shape[1:]) == (1, 16, 16)


@pytest.mark.parametrize("name,dim,modes", [("gauss1d", 1, 1), ("ring8", 2, 8), ("grid25", 2, 25)])
def test_toys_are_float32_points_labelled_by_mode(tmp_path, run_stage, name, dim, modes):
    params = tiny_params()
    data = build(run_stage, tmp_path, params, name)
    x, y = data["train"]["x"], data["train"]["y"]
    assert x.dtype == torch.float32 and tuple(x.shape) == (params["datasets"][name]["n_train"], dim)
    assert len(data["test"]["x"]) == params["datasets"][name]["n_test"]
    assert set(y.tolist()) == set(range(modes))
    lo, hi = data["meta"]["value_range"]
    assert lo == pytest.approx(min(float(data[s]["x"].min()) for s in ("train", "test")))
    assert hi == pytest.approx(max(float(data[s]["x"].max()) for s in ("train", "test")))
    assert data["meta"]["source"]["note"].startswith("synthetic")
    check_meta_matches_files(data)


def test_gauss1d_has_the_requested_moments(tmp_path, run_stage):
    data = build(run_stage, tmp_path, default_params(), "gauss1d")  # 50k samples
    x = data["train"]["x"].double()
    # standard errors at n = 50k: mean 0.0056, std 0.004; 0.03 is > 5 of them
    assert abs(float(x.mean()) - 4.0) < 0.03 and abs(float(x.std()) - 1.25) < 0.03


@pytest.mark.parametrize("dataset", ["digits", "ring8"])
def test_same_params_give_byte_identical_files_and_another_seed_does_not(tmp_path, run_stage, dataset):
    params = tiny_params()
    a = build(run_stage, tmp_path / "a", params, dataset)
    b = build(run_stage, tmp_path / "b", params, dataset)
    for name in ("train.pt", "test.pt", "meta.json"):
        assert sha256(a["folder"] / name) == sha256(b["folder"] / name)
    params["prepare"]["seed"] = 1
    c = build(run_stage, tmp_path / "c", params, dataset)
    assert a["meta"]["sha256"] != c["meta"]["sha256"]


def test_prepare_refuses_a_corrupt_raw_file_naming_it(tmp_path, run_stage):
    build(run_stage, tmp_path, tiny_params(), "digits")
    raw = tmp_path / "results/data/digits/raw/digits.csv.gz"
    raw.write_bytes(raw.read_bytes()[:-100])
    result = run_stage(tmp_path, "prepare", "--dataset", "digits", check=False)
    assert result.returncode == 2
    assert "results/data/digits/raw/digits.csv.gz: sha256" in result.stderr
    assert "delete results/data/digits/raw and rerun download" in result.stderr


def test_prepare_without_download_says_what_to_run(tmp_path, run_stage):
    write_params(tmp_path, tiny_params())
    result = run_stage(tmp_path, "prepare", "--dataset", "ring8", check=False)
    assert result.returncode == 2
    assert "results/data/ring8/raw/manifest.json: missing; run the download stage" in result.stderr
    assert not (tmp_path / "results/data/ring8/train.pt").exists()


def test_mnist_from_http_mirror_is_padded_to_32(tmp_path, run_stage, file_server):
    files = tiny_mnist(n_train=40, n_test=20)
    data = build(run_stage, tmp_path, mnist_params([serve(file_server, "/m", files)], files), "mnist")
    x = data["train"]["x"]
    assert tuple(x.shape) == (40, 1, 32, 32) and x.dtype == torch.uint8
    assert int(x[:, :, :2].sum()) == 0 and int(x[:, :, :, 30:].sum()) == 0  # 2-pixel zero border
    assert data["train"]["y"].tolist() == [i % 10 for i in range(40)]
    check_meta_matches_files(data)


def tiny_cifar10_tar(n_per_batch: int = 6, seed: int = 0) -> bytes:
    """cifar-10-python.tar.gz in the published layout, with random images."""
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        def add(name: str, obj) -> None:
            blob = pickle.dumps(obj)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))

        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            add(name, {"data": rng.integers(0, 256, (n_per_batch, 3072), dtype=np.uint8),
                       "labels": [int(v) for v in rng.integers(0, 10, n_per_batch)]})
        add("batches.meta", {"label_names": CIFAR10_CLASSES})
    return buf.getvalue()


@pytest.mark.parametrize("side,resize", [(32, "pad"), (64, "bilinear"), (16, "bilinear")])
def test_cifar10_from_http_mirror_is_rgb_uint8(tmp_path, run_stage, file_server, side, resize):
    blob = tiny_cifar10_tar()
    params = default_params()
    params["download"] = FAST
    params["datasets"] = {"cifar10": {"mirrors": [serve(file_server, "/c", {"cifar-10-python.tar.gz": blob})],
                                      "checksums": {"cifar-10-python.tar.gz": md5(blob)},
                                      "side": side, "resize": resize}}
    params["variants"] = {"v": {"dataset": "cifar10", "model": "mlp", "loss": "hinge"}}
    params["report"]["comparisons"] = []  # its variants are gone
    data = build(run_stage, tmp_path, params, "cifar10")
    assert tuple(data["train"]["x"].shape) == (30, 3, side, side)
    assert tuple(data["test"]["x"].shape) == (6, 3, side, side)
    assert data["meta"]["classes"] == CIFAR10_CLASSES
    check_meta_matches_files(data)


@pytest.mark.skipif(not DEBIAN_FASHION.is_dir(), reason="Debian package dataset-fashion-mnist not installed")
def test_fashion_mnist_from_the_debian_package(tmp_path, run_stage):
    params = default_params()
    params["datasets"] = {"fashion_mnist": {"mirrors": [str(DEBIAN_FASHION)], "side": 32, "resize": "pad"}}
    params["variants"] = {"v": {"dataset": "fashion_mnist", "model": "dcgan", "loss": "hinge"}}
    params["report"]["comparisons"] = []  # its variants are gone
    data = build(run_stage, tmp_path, params, "fashion_mnist")
    assert tuple(data["train"]["x"].shape) == (60000, 1, 32, 32)
    assert tuple(data["test"]["x"].shape) == (10000, 1, 32, 32)
    assert data["meta"]["class_counts"]["train"] == [6000] * 10
    assert data["meta"]["class_counts"]["test"] == [1000] * 10
    assert data["meta"]["classes"] == FASHION_CLASSES
    check_meta_matches_files(data)
