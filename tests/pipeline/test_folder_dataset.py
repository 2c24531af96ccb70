"""A folder of the user's own images (`datasets.<name>.folder`): download snapshots it,
prepare decodes it with one class per subfolder, and a variant trains and is evaluated
on it from params.yaml alone."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from tests.conftest import sha256, tiny_params, write_params

CLASSES = ["circles", "crosses", "squares"]  # sorted: class index = position


def write_folder(root: Path, n_per_class: int = 10, size: tuple[int, int] = (16, 16), seed: int = 0) -> dict:
    """Class subfolders of PNGs (one JPEG, one grayscale, one in a nested folder, one
    hidden file); returns {relative path: (class index, (H, W, 3) uint8 as RGB)}."""
    rng = np.random.default_rng(seed)
    written = {}
    for index, cls in enumerate(CLASSES):
        for i in range(n_per_class):
            rgb = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
            rel = f"{cls}/{'nested/' if i == 1 else ''}img{i:02d}.png"
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if i == 0 and index == 0:  # a grayscale file in an RGB dataset is converted
                rgb[:] = rgb[:, :, :1]
                Image.fromarray(rgb[:, :, 0], "L").save(path)
            else:
                Image.fromarray(rgb, "RGB").save(path)
            written[rel] = (index, rgb)
        (root / cls / ".DS_Store").write_bytes(b"\x00\x01 not an image, hidden: skipped")
    return written


def folder_params(folder: Path, **options) -> dict:
    params = tiny_params()
    params["datasets"] = {"shapes": {"folder": str(folder), "side": 16, **options}}
    params["variants"] = {"ns_mlp_shapes": {"dataset": "shapes", "model": "mlp", "loss": "non_saturating"}}
    params["train"]["seeds"] = [0]
    return params


def test_a_folder_of_class_subfolders_becomes_uint8_nchw_with_its_classes(tmp_path, run_stage):
    written = write_folder(tmp_path / "images")
    write_params(tmp_path, folder_params(tmp_path / "images", test_fraction=0.2))
    run_stage(tmp_path, "download", "--dataset", "shapes")
    run_stage(tmp_path, "prepare", "--dataset", "shapes")
    data = tmp_path / "results/data/shapes"
    manifest = json.loads((data / "raw/manifest.json").read_text())
    assert len(manifest["files"]) == len(written)  # the hidden files stayed behind
    for rel, entry in manifest["files"].items():
        assert entry["sha256"] == sha256(data / "raw" / rel) == sha256(tmp_path / "images" / rel.removeprefix("images/"))
    meta = json.loads((data / "meta.json").read_text())
    assert meta["classes"] == CLASSES and meta["kind"] == "image" and meta["shape"] == [3, 16, 16]
    assert meta["n"] == {"train": 24, "test": 6}
    assert meta["class_counts"] == {"train": [8, 8, 8], "test": [2, 2, 2]}  # stratified: 20% of each class
    # side equals the native size: the pixels are the files' own, class by class
    pixels = {}
    for split in ("train", "test"):
        saved = torch.load(data / f"{split}.pt")
        assert saved["x"].dtype == torch.uint8
        for x, y in zip(saved["x"].numpy(), saved["y"].tolist()):
            pixels.setdefault(y, []).append(x.transpose(1, 2, 0).tobytes())
    for index, rgb in written.values():
        assert rgb.tobytes() in pixels[index]


def test_a_variant_on_a_folder_trains_and_is_evaluated_from_params_alone(tmp_path, run_stage):
    write_folder(tmp_path / "images", n_per_class=12, size=(20, 20))
    write_params(tmp_path, folder_params(tmp_path / "images", channels=1))  # 20x20 -> 16x16 bilinear, gray
    for stage in ("download", "prepare", "classifier", "reference"):
        run_stage(tmp_path, stage, "--dataset", "shapes")
    run_stage(tmp_path, "train", "--variant", "ns_mlp_shapes", "--seed", "0")
    run_stage(tmp_path, "evaluate", "--variant", "ns_mlp_shapes", "--seed", "0")
    meta = json.loads((tmp_path / "results/data/shapes/meta.json").read_text())
    assert meta["shape"] == [1, 16, 16]
    classifier = json.loads((tmp_path / "results/features/shapes/classifier.json").read_text())
    assert classifier["applicable"] and 0.0 <= classifier["test_accuracy"] <= 1.0
    metrics = json.loads((tmp_path / "results/metrics/ns_mlp_shapes/seed0.json").read_text())
    assert np.isfinite(metrics["fd_classifier"]) and metrics["fd_classifier"] >= 0
    assert 1 <= metrics["classes_covered"] <= len(CLASSES)
