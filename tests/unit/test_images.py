"""Image readers and the layout step of `prepare`."""

import gzip

import numpy as np
import pytest

from pipeline_src.datasets import images
from pipeline_src.errors import InputError


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array in LeCun's IDX format."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def test_read_idx_roundtrips_plain_and_gzipped(tmp_path):
    a = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    (tmp_path / "plain").write_bytes(idx_bytes(a))
    (tmp_path / "packed.gz").write_bytes(gzip.compress(idx_bytes(a)))
    assert np.array_equal(images.read_idx(tmp_path / "plain"), a)
    assert np.array_equal(images.read_idx(tmp_path / "packed.gz"), a)


def test_read_idx_rejects_truncated_file_naming_it(tmp_path):
    a = np.zeros((5, 28, 28), np.uint8)
    (tmp_path / "short").write_bytes(idx_bytes(a)[:-10])
    with pytest.raises(InputError, match="short: IDX header says shape"):
        images.read_idx(tmp_path / "short")


def test_pad_centres_on_zeros():
    x = np.full((2, 1, 28, 28), 200, np.uint8)
    y = images.fit_side(x, 32, "pad")
    assert y.shape == (2, 1, 32, 32) and y.dtype == np.uint8
    assert (y[:, :, 2:30, 2:30] == 200).all()
    assert y.sum() == x.sum()  # the border is zero


def test_pad_cannot_shrink():
    with pytest.raises(InputError, match="cannot pad 32x32 images to 16x16"):
        images.fit_side(np.zeros((1, 3, 32, 32), np.uint8), 16, "pad")


def test_bilinear_keeps_constant_images_constant_and_uint8():
    x = np.full((3, 3, 32, 32), 77, np.uint8)
    for side in (16, 64):
        y = images.fit_side(x, side, "bilinear")
        assert y.shape == (3, 3, side, side) and y.dtype == np.uint8
        assert (y == 77).all()


def test_native_side_is_untouched():
    x = np.random.default_rng(0).integers(0, 256, (4, 1, 8, 8), dtype=np.uint8)
    assert np.array_equal(images.fit_side(x, 8, "bilinear"), x)


def test_stratified_split_is_seeded_disjoint_and_balanced():
    labels = np.repeat(np.arange(10), 50)
    tr1, te1 = images.stratified_split(labels, 0.2, np.random.default_rng(3))
    tr2, te2 = images.stratified_split(labels, 0.2, np.random.default_rng(3))
    assert np.array_equal(tr1, tr2) and np.array_equal(te1, te2)
    assert not set(tr1) & set(te1) and len(tr1) + len(te1) == 500
    assert np.bincount(labels[te1]).tolist() == [10] * 10
