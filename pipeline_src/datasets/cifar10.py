"""`cifar10`: the python-version tar of CIFAR-10, from mirrors (torchvision's by default)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline_src.datasets import DatasetSpec, RawFile, Split, register
from pipeline_src.datasets.images import read_cifar10_tar

CIFAR10_CLASSES = [
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
]


def raw_files() -> tuple[RawFile, ...]:
    """The tar, with the md5 of every batch inside it (torchvision's)."""
    from torchvision.datasets import CIFAR10

    members = {f"{CIFAR10.base_folder}/{name}": md5 for name, md5 in CIFAR10.train_list + CIFAR10.test_list}
    members[f"{CIFAR10.base_folder}/{CIFAR10.meta['filename']}"] = CIFAR10.meta["md5"]
    return (RawFile(CIFAR10.filename, CIFAR10.tgz_md5, members),)


def read(raw: Path, options: dict, rng: np.random.Generator) -> dict[str, Split]:
    return read_cifar10_tar(raw / raw_files()[0].name)


register(DatasetSpec(
    "cifar10", "image", "60000 32x32 colour images in 10 classes (Krizhevsky 2009)",
    options={"$ref": "#/$defs/image_dataset"},
    native_side=32, channels=3, classes=CIFAR10_CLASSES, torchvision_class="CIFAR10",
    raw_files=raw_files, read=read,
))
