"""Reading what `prepare` wrote, checked against the sha256 recorded in meta.json."""

from __future__ import annotations

from pathlib import Path

import torch

from pipeline_src import datasets
from pipeline_src.errors import InputError
from pipeline_src.io import file_digest, load_json_file, load_torch_file
from pipeline_src.paths import prepared_files


# What prepare writes into meta.json and the stages after it read: key -> (type, what it must hold).
META_KEYS = {
    "dataset": (str, "the dataset's name"),
    "kind": (str, "image or points"),
    "shape": (list, "the shape of one sample, a list of positive integers"),
    "classes": (list, "the class names"),
    "n": (dict, "the number of samples of each split"),
    "sha256": (dict, "the sha256 of train.pt and test.pt"),
    "class_counts": (dict, "the samples per class of each split"),
}


def to_unit_range(x: torch.Tensor) -> torch.Tensor:
    """Prepared uint8 images -> float in [-1, 1], what every network sees (the range of G's
    Tanh); points, already float, unchanged."""
    return x.float().div_(127.5).sub_(1.0) if x.dtype == torch.uint8 else x


def meta_problem(meta, dataset: str) -> str | None:
    """What is wrong with a meta.json as read back, or None: a file edited by hand or copied from
    another dataset must be refused by name, not fail later or change what a stage computes."""
    if not isinstance(meta, dict):
        return f"a {type(meta).__name__} instead of an object"
    for key, (kind, what) in META_KEYS.items():
        if not isinstance(meta.get(key), kind):
            return f"`{key}` is missing or not a {kind.__name__} ({what})"
    if meta["dataset"] != dataset:
        return f"written for the dataset {meta['dataset']!r}"
    registered = datasets.DATASETS.get(dataset)
    expected_kind = registered.kind if registered is not None else "image"  # a folder of the user's images
    if meta["kind"] != expected_kind:
        return f"kind {meta['kind']!r}, but {dataset} is {expected_kind} data"
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in meta["shape"]):
        return "`shape` is not a list of positive integers"
    if not all(isinstance(meta["sha256"].get(f), str) for f in ("train.pt", "test.pt")):
        return "`sha256` lacks train.pt or test.pt"
    if not all(isinstance(meta["n"].get(split), int) for split in ("train", "test")):
        return "`n` lacks the train or test count"
    return None


def read_meta(dataset: str, results: Path) -> dict:
    path = prepared_files(dataset, results)["meta"]
    if not path.is_file():
        raise InputError(f"{path}: missing; run the prepare stage for {dataset} first")
    fix = f"delete results/data/{dataset} and rerun prepare"
    meta = load_json_file(path, fix)
    if problem := meta_problem(meta, dataset):
        raise InputError(f"{path}: not the meta.json prepare writes ({problem}); {fix}")
    return meta


def load_prepared(dataset: str, results: Path, split: str = "train") -> tuple[torch.Tensor, torch.Tensor, dict]:
    """(x, y, meta) of one split: x (N, C, H, W) uint8 or (N, D) float32, y (N,) int64."""
    meta = read_meta(dataset, results)
    files = prepared_files(dataset, results)
    path = files[split]
    try:
        sha = file_digest(path)
    except FileNotFoundError:
        raise InputError(f"{path}: missing; delete results/data/{dataset} and rerun prepare") from None
    if sha != meta["sha256"][path.name]:
        raise InputError(f"{path}: sha256 {sha} differs from {files['meta']}; "
                         f"delete results/data/{dataset} and rerun prepare")
    saved = load_torch_file(path, f"delete results/data/{dataset} and rerun prepare")
    if list(saved["x"].shape[1:]) != meta["shape"]:
        raise InputError(f"{files['meta']}: shape {meta['shape']}, but {path} holds {list(saved['x'].shape[1:])}; "
                         f"delete results/data/{dataset} and rerun prepare")
    return saved["x"], saved["y"], meta
