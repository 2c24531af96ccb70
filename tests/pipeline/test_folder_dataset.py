"""A folder of the user's own images (`datasets.<name>.folder`): download snapshots it,
prepare decodes it with one class per subfolder, and a variant trains and is evaluated
on it from params.yaml alone."""

from __future__ import annotations

import json
import warnings
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


def test_mixed_sizes_transparency_and_duplicates_with_crop_center(tmp_path, run_stage):
    """A real collection: images of several sizes, RGBA and palette images with a transparent colour,
    and the same image twice (a copy and a link, in two classes). With `crop: center` each image's
    centred square is brought to `side`; transparency is laid over `background`; each distinct image
    is kept once, so none sits in both splits, and meta.json says how many were dropped."""
    root = tmp_path / "icons"
    for cls in ("a", "b"):
        (root / cls).mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(6):  # opaque RGB of three sizes, all distinct
        size = [(32, 32), (64, 32), (20, 40)][i % 3]
        Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(root / "ab"[i % 2] / f"{i}.png")
    sprite = np.zeros((32, 64, 4), dtype=np.uint8)  # a 64x32 sprite sheet: transparent, one opaque red square
    sprite[8:24, 24:40] = [255, 0, 0, 255]
    Image.fromarray(sprite, "RGBA").save(root / "a/sprite.png")
    palette = Image.new("P", (16, 16), 0)
    palette.putpalette([0, 0, 255] + [0, 255, 0] * 255)
    palette.info["transparency"] = 0  # colour 0 (blue) is transparent: the whole image but one pixel
    palette.putpixel((8, 8), 1)
    palette.save(root / "b/palette.png", transparency=0)
    (root / "b/copy.png").write_bytes((root / "a/0.png").read_bytes())
    (root / "a/link.png").symlink_to(root / "b/1.png")
    params = folder_params(root, side=16, crop="center", background=255, test_fraction=0.3)
    write_params(tmp_path, params)
    run_stage(tmp_path, "download", "--dataset", "shapes")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # PIL's "Palette images with Transparency ... should be converted to RGBA"
        run_stage(tmp_path, "prepare", "--dataset", "shapes")
    data = tmp_path / "results/data/shapes"
    meta = json.loads((data / "meta.json").read_text())
    assert meta["shape"] == [3, 16, 16] and meta["duplicates_dropped"] == 2
    assert meta["n"]["train"] + meta["n"]["test"] == 10 - 2
    assert meta["options"]["dataset"]["crop"] == "center"
    splits = {s: torch.load(data / f"{s}.pt")["x"].numpy() for s in ("train", "test")}
    train, test = ({x.tobytes() for x in splits[s]} for s in ("train", "test"))
    assert not train & test and len(train) + len(test) == 8  # every image once, in one split
    images = np.concatenate(list(splits.values()))
    # the sprite: its centred 32x32 square, shrunk to 16x16, red in the middle over a white background
    assert any(x[:, 8, 8].tolist() == [255, 0, 0] and x[:, 0, 0].tolist() == [255, 255, 255] for x in images)
    # the palette image: white where its colour was transparent, green where it was not
    assert any((x[:, 0, 0] == 255).all() and (x[1, 8, 8] == 255 and x[0, 8, 8] == 0) for x in images)

