"""Stage `prepare`: raw files -> results/data/{dataset}/train.pt, test.pt, meta.json.

train.pt / test.pt hold {"x": ..., "y": (N,) int64}; x is (N, C, side, side)
uint8 for images and (N, D) float32 for points. The same params give
byte-identical files; meta.json records their sha256, shape, classes and source.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import pipeline_src
from pipeline_src import datasets
from pipeline_src.datasets import Split, folder, images
from pipeline_src.download import verify
from pipeline_src.errors import InputError
from pipeline_src.io import atomic_write_bytes, atomic_write_json, bytes_digest, file_digest, load_json_file, torch_bytes
from pipeline_src.paths import RESULTS, manifest_path, prepared_files, raw_dir
from pipeline_src.stages.common import dataset_options, dataset_rngs, log

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", required=True, help="a key of `datasets:` in params.yaml")


def read_manifest(name: str, results: Path) -> dict:
    """raw/manifest.json, after checking every listed file against its sha256."""
    folder = raw_dir(name, results)
    path = manifest_path(name, results)
    if not path.is_file():
        raise InputError(f"{path}: missing; run the download stage for {name} first")
    manifest = load_json_file(path, f"delete {folder} and rerun download")
    for fname, entry in manifest["files"].items():
        f = folder / fname
        if not f.is_file():
            raise InputError(f"{f}: listed in {path} but missing; delete {folder} and rerun download")
        sha = file_digest(f)
        if sha != entry["sha256"]:
            raise InputError(f"{f}: sha256 {sha} differs from {entry['sha256']} in {path}; "
                             f"the file is corrupt: delete {folder} and rerun download")
    return manifest


def check_pinned(name: str, options: dict, results: Path) -> None:
    """Check raw/ against the checksums pinned in the code (or in params), not only against its own
    manifest: a raw/ pulled from a DVC remote or copied from elsewhere is read by prepare, and a
    format like CIFAR-10's pickles must be the published bytes before it is opened."""
    spec = datasets.spec_of(name, options)
    folder = raw_dir(name, results)
    if spec.kind == "points" or datasets.is_folder(options):
        return  # nothing downloaded: drawn by prepare, or the user's own images
    pinned = {raw.name: raw for raw in datasets.pinned_raw_files(name, spec, options)}
    for fname in [*pinned, *spec.pinned_sha256]:
        f = folder / fname
        if not f.is_file():
            problem = "missing"
        elif fname in pinned:
            problem = verify(f, pinned[fname])
        else:
            sha, expected = file_digest(f), spec.pinned_sha256[fname]
            problem = None if sha == expected else f"sha256 {sha}, expected {expected}"
        if problem:
            raise InputError(f"{f}: {problem}; it is not the published file: delete {folder} and rerun download")


def _check_pairs(name: str, splits: dict[str, Split]) -> None:
    for split, (x, y) in splits.items():
        if len(x) != len(y):
            raise InputError(f"{name}: {split} split has {len(x)} samples but {len(y)} labels")


def build_folder(name: str, raw: Path, options: dict, seed: int, manifest: dict,
                 notes: dict) -> tuple[dict[str, Split], list[str]]:
    """The download stage's copy of an image folder: decoded, duplicates dropped (counted in `notes`,
    which meta.json records), split per class like digits."""
    classes, files, labels = folder.list_images(raw / folder.FOLDER_IMAGES, f"{raw} (datasets.{name}.folder)")
    sources = manifest["files"]

    def origin(path: Path) -> str:
        entry = sources.get(path.relative_to(raw).as_posix(), {})
        return f" (copied from {entry['source']})" if "source" in entry else ""

    x, y, dropped = folder.drop_duplicates(folder.read_images(files, options, origin),
                                           np.asarray(labels, dtype=np.int64))
    if dropped:
        log(f"prepare {name}: {dropped} duplicate image(s) dropped, each kept once, before the split")
    notes["duplicates_dropped"] = dropped
    (rng,) = dataset_rngs(seed, name, 1)
    train, test = images.stratified_split(y, options["test_fraction"], rng)
    if len(train) == 0 or len(test) == 0:
        raise InputError(f"datasets.{name}.test_fraction: {options['test_fraction']} leaves "
                         f"{len(train)} training and {len(test)} test images of {len(y)}; add images or change it")
    return {"train": (x[train], y[train]), "test": (x[test], y[test])}, classes


def build_points(name: str, spec: datasets.DatasetSpec, options: dict, seed: int) -> dict[str, Split]:
    train_rng, test_rng = dataset_rngs(seed, name, 2)
    return {"train": spec.sample(options["n_train"], options, train_rng),
            "test": spec.sample(options["n_test"], options, test_rng)}


def build(name: str, raw: Path, options: dict, seed: int, manifest: dict,
          notes: dict) -> tuple[dict[str, Split], list[str]]:
    """Decode, split and lay out one dataset: ({"train": (x, y), "test": (x, y)}, class names);
    what meta.json should say about the decoding goes into `notes`."""
    spec = datasets.spec_of(name, options)
    classes = spec.classes
    if spec.kind == "points":
        return build_points(name, spec, options, seed), classes
    if datasets.is_folder(options):
        splits, classes = build_folder(name, raw, options, seed, manifest, notes)
    else:
        (rng,) = dataset_rngs(seed, name, 1)  # for a split the release does not have (digits)
        splits = spec.read(raw, options, rng)
    _check_pairs(name, splits)
    try:
        fitted = {k: (images.fit_side(x, options["side"], options["resize"]), y) for k, (x, y) in splits.items()}
    except InputError as e:
        raise InputError(f"datasets.{name}: {e}") from None
    return fitted, classes


def describe(name: str, splits: dict[str, Split], spec: datasets.DatasetSpec, classes: list[str]) -> dict:
    """The data part of meta.json."""
    x_train = splits["train"][0]
    if spec.kind == "image":
        value_range = [0, 255]
    else:
        value_range = [float(min(s[0].min() for s in splits.values())),
                       float(max(s[0].max() for s in splits.values()))]
    n_classes = max(len(classes), 1)
    return {
        "dataset": name,
        "kind": spec.kind,
        "description": spec.description,
        "format": "torch.save dict: x " + ("(N, C, H, W) uint8" if spec.kind == "image" else "(N, D) float32")
                  + ", y (N,) int64",
        "shape": list(x_train.shape[1:]),
        "dtype": str(x_train.dtype),
        "value_range": value_range,
        "classes": classes,
        "n": {split: int(len(x)) for split, (x, _) in splits.items()},
        "class_counts": {split: np.bincount(y, minlength=n_classes).tolist() for split, (_, y) in splits.items()},
    }


def prepare(name: str, params: dict, results: Path = RESULTS) -> dict:
    import torch

    options = dataset_options(params, name)
    seed = params["prepare"]["seed"]
    manifest = read_manifest(name, results)
    check_pinned(name, options, results)
    notes: dict = {}
    splits, classes = build(name, raw_dir(name, results), options, seed, manifest, notes)
    out = prepared_files(name, results)
    meta = describe(name, splits, datasets.spec_of(name, options), classes) | notes
    meta["sha256"] = {}
    for split in ("train", "test"):
        x, y = splits[split]
        data = torch_bytes({"x": torch.from_numpy(np.ascontiguousarray(x)), "y": torch.from_numpy(y)})
        atomic_write_bytes(out[split], data)
        meta["sha256"][out[split].name] = bytes_digest(data)
    meta["source"] = {"note": manifest["note"],
                      "files": {f: {k: e[k] for k in ("sha256", "source") if k in e}
                                for f, e in manifest["files"].items()}}
    meta["options"] = {"prepare": params["prepare"], "dataset": options}
    meta["versions"] = {"pipeline_src": pipeline_src.__version__, "numpy": np.__version__,
                        "torch": torch.__version__.split("+")[0]}
    atomic_write_json(out["meta"], meta)  # written last: its presence marks a complete prepare
    log(f"prepare {name}: train {meta['n']['train']}, test {meta['n']['test']}, "
        f"shape {meta['shape']} {meta['dtype']} -> {out['meta'].parent}")
    return meta


def run(args: argparse.Namespace, params: dict) -> None:
    prepare(args.dataset, params, Path(args.results))
