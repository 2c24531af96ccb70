"""Reading what `prepare` wrote, checked against the sha256 recorded in meta.json."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from pipeline_src.errors import InputError
from pipeline_src.io import file_digest
from pipeline_src.paths import prepared_files


def read_meta(dataset: str, results: Path) -> dict:
    path = prepared_files(dataset, results)["meta"]
    if not path.is_file():
        raise InputError(f"{path}: missing; run the prepare stage for {dataset} first")
    return json.loads(path.read_text())


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
    saved = torch.load(path, weights_only=True)
    return saved["x"], saved["y"], meta
