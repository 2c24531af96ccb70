"""`mnist` and `fashion_mnist`: LeCun's IDX files, from mirrors (torchvision's by default)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline_src.datasets import DatasetSpec, RawFile, Split, register
from pipeline_src.datasets.digits import DIGIT_CLASSES
from pipeline_src.datasets.images import read_idx

FASHION_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]
# md5 of the uncompressed IDX files of the official releases (the .gz md5s are
# torchvision's; these identify the same content inside a recompressed copy).
_MNIST_CONTENT_MD5 = {
    "train-images-idx3-ubyte.gz": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte.gz": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte.gz": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte.gz": "27ae3e4e09519cfbb04c329615203637",
}
_FASHION_CONTENT_MD5 = {
    "train-images-idx3-ubyte.gz": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
    "train-labels-idx1-ubyte.gz": "9018921c3c673c538a1fc5bad174d6f9",
    "t10k-images-idx3-ubyte.gz": "8181f5470baa50b63fa0f6fddb340f0a",
    "t10k-labels-idx1-ubyte.gz": "15d484375f8d13e6eb1aabb0c3f46965",
}


def _idx_files(content_md5: dict[str, str], torchvision_class: str):
    """The four IDX files, md5s from torchvision's dataset class."""
    def files() -> tuple[RawFile, ...]:
        import torchvision.datasets as tvd

        resources = getattr(tvd, torchvision_class).resources
        return tuple(RawFile(name, md5, {"": content_md5[name]}) for name, md5 in resources)
    return files


def read(raw: Path, options: dict, rng: np.random.Generator) -> dict[str, Split]:
    def load(prefix: str) -> Split:
        x = read_idx(raw / f"{prefix}-images-idx3-ubyte.gz")
        y = read_idx(raw / f"{prefix}-labels-idx1-ubyte.gz").astype(np.int64)
        return x[:, None, :, :], y  # (N, 28, 28) -> (N, 1, 28, 28)

    return {"train": load("train"), "test": load("t10k")}


register(DatasetSpec(
    "mnist", "image", "70000 28x28 handwritten digits (LeCun et al.)",
    options={"$ref": "#/$defs/image_dataset"},
    native_side=28, channels=1, classes=DIGIT_CLASSES, torchvision_class="MNIST",
    raw_files=_idx_files(_MNIST_CONTENT_MD5, "MNIST"), read=read, classifier_target=0.97,
))
register(DatasetSpec(
    "fashion_mnist", "image", "70000 28x28 Zalando article images (Xiao et al. 2017)",
    # as image_dataset, but the Debian package's copy (dataset-fashion-mnist) is tried first
    options={"type": "object", "additionalProperties": False, "properties": {
        "mirrors": {"$ref": "#/$defs/mirrors", "default": ["/usr/share/datasets/fashion-mnist", "torchvision"]},
        "checksums": {"$ref": "#/$defs/checksums"},
        "side": {"$ref": "#/$defs/side", "default": 32},
        "resize": {"$ref": "#/$defs/resize", "default": "pad"},
    }},
    native_side=28, channels=1, classes=FASHION_CLASSES, torchvision_class="FashionMNIST",
    raw_files=_idx_files(_FASHION_CONTENT_MD5, "FashionMNIST"), read=read, classifier_target=0.88,
))
