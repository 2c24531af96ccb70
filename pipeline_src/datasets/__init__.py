"""Dataset registry: one entry per name accepted under `datasets:` in params.yaml.

Each entry says what kind of data it is (images or points), its options, native layout and
classes, and carries what the stages ask of it: its raw files, how prepare reads or draws it,
its modes, the score that selects a run's best G and its classifier's target accuracy. Any
other name under `datasets:` is a folder of the user's own images (`folder: PATH`, class
subfolders), described by `spec_of`. Importing this package is cheap (no torch). Each module
imported at the end registers its datasets: adding a dataset kind is one module and its line there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipeline_src.errors import InputError


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


Split = tuple[np.ndarray, np.ndarray]  # (x, y): x (N, C, H, W) uint8 or (N, D) float32, y (N,) int64


def _no_files() -> tuple[RawFile, ...]:
    return ()


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset and its behaviour: what each stage asks of it, so that no stage names a dataset.

    Images: `read(raw, options, rng)` decodes raw/ into {"train": (x, y), "test": (x, y)} at the
    native side (prepare fits the side); `raw_files()` are the files `download` fetches from the
    mirrors, or `fetch(dest)` delivers them from elsewhere, checked against `pinned_sha256`.
    Points: `sample(n, options, rng)` draws (x, y), y the mixture component; `modes(options)` gives
    a mixture's (centres (K, D), sigma), `gaussian(options)` a single Gaussian's (mean, std).
    `selection` is the metric that ranks a run's saved generators (lower is better).
    """

    name: str
    kind: str  # "image" (uint8 NCHW) or "points" (float32 (N, D))
    description: str
    options: dict = field(default_factory=dict)  # JSON schema of `datasets.<name>` (params.py adds it)
    native_side: int | None = None  # images: side of the published images
    channels: int | None = None  # images: 1 (grayscale) or 3 (RGB)
    dim: int | None = None  # points: dimension D
    classes: list[str] = field(default_factory=list)
    torchvision_class: str | None = None  # where the mirror URLs and md5s come from
    raw_files: Callable[[], tuple[RawFile, ...]] = _no_files
    fetch: Callable[[Path], tuple[dict, str]] | None = None  # -> ({file: {"source", "sha256"}}, note)
    pinned_sha256: dict[str, str] = field(default_factory=dict)
    read: Callable[[Path, dict, np.random.Generator], dict[str, Split]] | None = None
    sample: Callable[[int, dict, np.random.Generator], Split] | None = None
    modes: Callable[[dict], tuple[np.ndarray, float]] | None = None
    gaussian: Callable[[dict], tuple[float, float]] | None = None
    selection: str = "fd_classifier"  # "fd_classifier" (images), "mode_js" (mixtures), "sliced_w1" (1-D)
    classifier_target: float | None = None  # the test accuracy its classifier should reach


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


def pinned_raw_files(name: str, spec: DatasetSpec, options: dict) -> tuple[RawFile, ...]:
    """The raw files of a downloaded dataset with the md5s they must have: the published ones,
    or those of `datasets.<name>.checksums`. `download` checks what it fetches against them and
    `prepare` checks raw/ again, since raw/ may come from a DVC remote or another workspace."""
    files = spec.raw_files()
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


# Each module registers its datasets when imported: the registrations, in the order params.yaml lists them.
from pipeline_src.datasets import digits, idx, cifar10, toys  # noqa: E402

KINDS = (digits, idx, cifar10, toys)
