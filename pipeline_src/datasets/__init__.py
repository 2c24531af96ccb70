"""Dataset registry: one entry per name accepted under `datasets:` in params.yaml.

Each entry says what kind of data it is (images or points), its native layout
and classes, which raw files the `download` stage fetches, and the function
the `prepare` stage calls. Any other name under `datasets:` is a folder of the
user's own images (`folder: PATH`, class subfolders), described by `spec_of`.
Importing this module is cheap (no torch).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline_src.errors import InputError

DIGIT_CLASSES = [str(i) for i in range(10)]
FASHION_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]
CIFAR10_CLASSES = [
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
]


@dataclass(frozen=True)
class RawFile:
    """A file the `download` stage must deliver into results/data/{dataset}/raw/.

    `md5` is the checksum of the file as published (torchvision's). A copy that
    was recompressed (Debian re-gzips Fashion-MNIST) is still accepted when the
    checksums of its content match: `content_md5` maps a member name to its md5
    ("" for the single stream of a .gz file, member paths for a tar archive).
    """

    name: str
    md5: str
    content_md5: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    kind: str  # "image" (uint8 NCHW) or "points" (float32 (N, D))
    description: str
    native_side: int | None = None  # images: side of the published images
    channels: int | None = None  # images: 1 (grayscale) or 3 (RGB)
    dim: int | None = None  # points: dimension D
    classes: list[str] = field(default_factory=list)
    torchvision_class: str | None = None  # where the mirror URLs and md5s come from
    raw_files: tuple[RawFile, ...] = ()


DATASETS: dict[str, DatasetSpec] = {}


def register(spec: DatasetSpec) -> DatasetSpec:
    if spec.name in DATASETS:
        raise ValueError(f"dataset {spec.name!r} is registered twice")
    DATASETS[spec.name] = spec
    return spec


def get(name: str) -> DatasetSpec:
    try:
        return DATASETS[name]
    except KeyError:
        raise KeyError(f"unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))}") from None


def is_folder(options: dict) -> bool:
    """A `datasets:` entry that names a folder of the user's own images."""
    return "folder" in options


def spec_of(name: str, options: dict) -> DatasetSpec:
    """The spec of a declared dataset: the registered one, or an image folder's.

    A folder's classes and native size are only known once `prepare` has read it;
    stages after it take them from meta.json.
    """
    if is_folder(options):
        return DatasetSpec(name, "image", f"images from the folder {options['folder']} (class = subfolder)",
                           channels=options["channels"])
    return get(name)


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
# sha256 of sklearn/datasets/data/digits.csv.gz (unchanged since scikit-learn 0.x)
DIGITS_CSV_SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"


def _idx_files(content_md5: dict[str, str], torchvision_class: str) -> tuple[RawFile, ...]:
    """The four IDX files, md5s from torchvision's dataset class."""
    import torchvision.datasets as tvd

    resources = getattr(tvd, torchvision_class).resources
    return tuple(RawFile(name, md5, {"": content_md5[name]}) for name, md5 in resources)


def raw_files(spec: DatasetSpec) -> tuple[RawFile, ...]:
    """Raw files of a dataset, with checksums from torchvision where it has them."""
    if spec.name == "mnist":
        return _idx_files(_MNIST_CONTENT_MD5, "MNIST")
    if spec.name == "fashion_mnist":
        return _idx_files(_FASHION_CONTENT_MD5, "FashionMNIST")
    if spec.name == "cifar10":
        from torchvision.datasets import CIFAR10

        members = {
            f"{CIFAR10.base_folder}/{name}": md5
            for name, md5 in CIFAR10.train_list + CIFAR10.test_list
        }
        members[f"{CIFAR10.base_folder}/{CIFAR10.meta['filename']}"] = CIFAR10.meta["md5"]
        return (RawFile(CIFAR10.filename, CIFAR10.tgz_md5, members),)
    return spec.raw_files


def pinned_raw_files(name: str, spec: DatasetSpec, options: dict) -> tuple[RawFile, ...]:
    """The raw files of a downloaded dataset with the md5s they must have: the published ones,
    or those of `datasets.<name>.checksums`. `download` checks what it fetches against them and
    `prepare` checks raw/ again, since raw/ may come from a DVC remote or another workspace."""
    files = raw_files(spec)
    if "checksums" not in options:
        return files
    missing = [raw.name for raw in files if raw.name not in options["checksums"]]
    if missing:
        raise InputError(f"datasets.{name}.checksums: no md5 given for {missing[0]}")
    return tuple(RawFile(raw.name, options["checksums"][raw.name]) for raw in files)


def torchvision_mirrors(spec: DatasetSpec) -> list[str]:
    """Base URLs that torchvision's dataset class downloads from."""
    if spec.torchvision_class is None:
        return []
    import torchvision.datasets as tvd

    cls = getattr(tvd, spec.torchvision_class)
    if hasattr(cls, "mirrors"):
        return list(cls.mirrors)
    return [cls.url.rsplit("/", 1)[0] + "/"]  # CIFAR10 has one full URL


register(DatasetSpec(
    "digits", "image", "1797 8x8 handwritten digits shipped inside scikit-learn",
    native_side=8, channels=1, classes=DIGIT_CLASSES,
))
register(DatasetSpec(
    "mnist", "image", "70000 28x28 handwritten digits (LeCun et al.)",
    native_side=28, channels=1, classes=DIGIT_CLASSES, torchvision_class="MNIST",
))
register(DatasetSpec(
    "fashion_mnist", "image", "70000 28x28 Zalando article images (Xiao et al. 2017)",
    native_side=28, channels=1, classes=FASHION_CLASSES, torchvision_class="FashionMNIST",
))
register(DatasetSpec(
    "cifar10", "image", "60000 32x32 colour images in 10 classes (Krizhevsky 2009)",
    native_side=32, channels=3, classes=CIFAR10_CLASSES, torchvision_class="CIFAR10",
))
register(DatasetSpec(
    "gauss1d", "points", "1-D Gaussian N(mean, std) (the 'GAN in 50 lines' target)", dim=1,
))
register(DatasetSpec(
    "ring8", "points", "8 Gaussians evenly spaced on a circle (PacGAN/VEEGAN)", dim=2,
    classes=[f"mode{i}" for i in range(8)],
))
register(DatasetSpec(
    "grid25", "points", "25 Gaussians on a 5x5 grid (PacGAN/VEEGAN)", dim=2,
    classes=[f"mode{i}" for i in range(25)],
))
