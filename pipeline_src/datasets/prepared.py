"""Reading what `prepare` wrote, checked against the sha256 recorded in meta.json."""

from __future__ import annotations

from pathlib import Path

import torch

from pipeline_src.errors import InputError
from pipeline_src.io import file_digest, load_json_file, load_torch_file
from pipeline_src.paths import prepared_files


def read_meta(dataset: str, results: Path) -> dict:
    path = prepared_files(dataset, results)["meta"]
    if not path.is_file():
        raise InputError(f"{path}: missing; run the prepare stage for {dataset} first")
    return load_json_file(path, f"delete results/data/{dataset} and rerun prepare")


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
    return saved["x"], saved["y"], meta
