"""`digits`: the 1797 8x8 handwritten digits that ship inside scikit-learn (offline)."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

import numpy as np

from pipeline_src.datasets import DatasetSpec, Split, register
from pipeline_src.datasets.images import read_digits_csv, stratified_split
from pipeline_src.errors import InputError
from pipeline_src.io import atomic_path, file_digest

DIGIT_CLASSES = [str(i) for i in range(10)]
CSV = "digits.csv.gz"
# sha256 of sklearn/datasets/data/digits.csv.gz (unchanged since scikit-learn 0.x)
CSV_SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"


def copy_from_sklearn(dest: Path) -> tuple[dict, str]:
    """Copy scikit-learn's bundled digits.csv.gz after checking its sha256."""
    source = resources.files("sklearn.datasets.data") / CSV
    with resources.as_file(source) as path:
        sha = file_digest(path)
        if sha != CSV_SHA256:
            raise InputError(f"{path}: sha256 {sha}, expected {CSV_SHA256} (scikit-learn's digits changed; please report)")
        with atomic_path(dest / CSV) as tmp:
            shutil.copyfile(path, tmp)
        return {CSV: {"source": str(path), "sha256": sha}}, "bundled with scikit-learn"


def read(raw: Path, options: dict, rng: np.random.Generator) -> dict[str, Split]:
    """One stratified split of the 1797 images (the release has no test split)."""
    x, y = read_digits_csv(raw / CSV)
    train, test = stratified_split(y, options["test_fraction"], rng)
    return {"train": (x[train], y[train]), "test": (x[test], y[test])}


register(DatasetSpec(
    "digits", "image", "1797 8x8 handwritten digits shipped inside scikit-learn",
    options={"type": "object", "additionalProperties": False, "properties": {
        "side": {"$ref": "#/$defs/side", "default": 8},
        "resize": {"$ref": "#/$defs/resize", "default": "pad"},
        "test_fraction": {"$ref": "#/$defs/fraction_open", "default": 0.2},
    }},
    native_side=8, channels=1, classes=DIGIT_CLASSES,
    fetch=copy_from_sklearn, pinned_sha256={CSV: CSV_SHA256}, read=read, classifier_target=0.97,
))
