"""Readers for the published image formats and the layout step of `prepare`.

Arrays in, arrays out: (N, C, H, W) uint8 images and (N,) int64 labels.
"""

from __future__ import annotations

import gzip
import io
import pickle
import tarfile
from pathlib import Path

import numpy as np

from pipeline_src.errors import InputError

IDX_DTYPES = {0x08: np.uint8}  # the only element type MNIST-style files use


def read_idx(path: str | Path) -> np.ndarray:
    """Decode an IDX file (LeCun's MNIST format), gzipped or not."""
    path = Path(path)
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in IDX_DTYPES:
        raise InputError(f"{path}: not an IDX file of uint8 (magic {data[:4].hex()})")
    ndim = data[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape)) if shape else 0
    if len(data) - header != expected:
        raise InputError(f"{path}: IDX header says shape {shape} ({expected} bytes) but the file has {len(data) - header}")
    return np.frombuffer(data, dtype=IDX_DTYPES[data[2]], offset=header).reshape(shape)


def read_digits_csv(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits.csv.gz: 64 pixel values in 0..16 then the label, per row.

    Returns (N, 1, 8, 8) uint8 scaled to 0..255 (round(v * 255 / 16)) and (N,) int64.
    """
    table = np.loadtxt(path, delimiter=",", dtype=np.float64)
    pixels, labels = table[:, :64], table[:, 64].astype(np.int64)
    images = np.rint(pixels * (255.0 / 16.0)).astype(np.uint8).reshape(-1, 1, 8, 8)
    return images, labels


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays and plain containers only. CIFAR-10 is published as pickles; refusing
    every other global means a tampered batch cannot run code (pickle calls what a file names)."""

    ALLOWED = {("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}  # protocol 2 spells bytes so
    ALLOWED |= {(f"numpy.{core}.{module}", name) for core in ("core", "_core")  # numpy 1 and 2 spellings
                for module, name in (("multiarray", "_reconstruct"), ("numeric", "_frombuffer"))}

    def find_class(self, module: str, name: str):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed (only numpy arrays, lists, dicts, bytes, numbers)")


def _load_batch(data: bytes, where: str) -> dict:
    try:
        batch = _ArrayUnpickler(io.BytesIO(data), encoding="latin1").load()
    except Exception as e:  # a damaged or foreign pickle: refuse it by name, whatever pickle's error
        raise InputError(f"{where}: not a CIFAR-10 batch ({e.__class__.__name__}: {str(e)[:120]})") from None
    if not isinstance(batch, dict) or not {"data", "labels"} <= batch.keys():
        raise InputError(f"{where}: not a CIFAR-10 batch (expected a dict with 'data' and 'labels')")
    return batch


def read_cifar10_tar(path: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """cifar-10-python.tar.gz -> {"train": (x, y), "test": (x, y)}, x (N, 3, 32, 32) uint8."""
    batches: dict[str, dict] = {}
    with tarfile.open(path, "r:gz") as tar:
        for member in tar.getmembers():
            name = member.name.rsplit("/", 1)[-1]
            if member.isfile() and (name.startswith("data_batch_") or name == "test_batch"):
                batches[name] = _load_batch(tar.extractfile(member).read(), f"{path}:{member.name}")
    train_names = sorted(n for n in batches if n.startswith("data_batch_"))
    if not train_names or "test_batch" not in batches:
        raise InputError(f"{path}: expected data_batch_* and test_batch inside, found {sorted(batches)}")

    def stack(names):
        x = np.concatenate([np.asarray(batches[n]["data"], dtype=np.uint8) for n in names])
        y = np.concatenate([np.asarray(batches[n]["labels"], dtype=np.int64) for n in names])
        return x.reshape(-1, 3, 32, 32), y

    return {"train": stack(train_names), "test": stack(["test_batch"])}


def fit_side(images: np.ndarray, side: int, resize: str) -> np.ndarray:
    """Bring (N, C, h, w) uint8 images to (N, C, side, side).

    pad: centre on zeros (the background of MNIST-like data); needs side >= h, w.
    bilinear: resample without corner alignment, antialiased when shrinking, rounded.
    """
    n, c, h, w = images.shape
    if (h, w) == (side, side):
        return np.ascontiguousarray(images)
    if resize == "pad":
        if side < h or side < w:
            raise InputError(f"cannot pad {h}x{w} images to {side}x{side}; use resize: bilinear")
        top, left = (side - h) // 2, (side - w) // 2
        out = np.zeros((n, c, side, side), dtype=np.uint8)
        out[:, :, top:top + h, left:left + w] = images
        return out
    if resize == "bilinear":
        import torch
        import torch.nn.functional as F

        x = torch.from_numpy(np.ascontiguousarray(images)).float()
        y = F.interpolate(x, size=(side, side), mode="bilinear", align_corners=False,
                          antialias=side < max(h, w))
        return y.round().clamp(0, 255).to(torch.uint8).numpy()
    raise InputError(f"unknown resize mode {resize!r}; use pad or bilinear")


def stratified_split(labels: np.ndarray, test_fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, test), each sorted; every class keeps round(test_fraction * count) in test."""
    train, test = [], []
    for cls in np.unique(labels):
        idx = np.flatnonzero(labels == cls)
        idx = idx[rng.permutation(len(idx))]
        k = int(round(test_fraction * len(idx)))
        test.append(idx[:k])
        train.append(idx[k:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))
