"""Sample pictures: the grid of two or more images matches torchvision's make_grid pixel for
pixel (it is built without torchvision, to keep that import out of every training job), and the
toy plots render."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from pipeline_src.training.samples import image_grid_png, points_png


def decoded(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image)


@pytest.mark.parametrize("shape", [(64, 1, 8, 8), (10, 3, 16, 16), (3, 1, 28, 28), (2, 3, 32, 32)])
def test_the_image_grid_is_torchvisions_make_grid_upscaled(shape):
    from torchvision.utils import make_grid

    images = torch.rand(*shape, generator=torch.Generator().manual_seed(0)) * 2.4 - 1.2  # some beyond [-1, 1]
    expected = make_grid(images.clamp(-1, 1), nrow=8, padding=1, normalize=True, value_range=(-1, 1), pad_value=1.0)
    expected = expected.mul(255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    if shape[1] == 1:
        expected = expected[:, :, 0]  # make_grid tiles gray to 3 channels; the PNG stays gray (mode L)

    got = decoded(image_grid_png(images))
    scale = max(1, 256 // max(expected.shape[:2]))
    assert got.shape[:2] == (expected.shape[0] * scale, expected.shape[1] * scale)
    assert got.ndim == expected.ndim
    np.testing.assert_array_equal(got[::scale, ::scale], expected)  # NEAREST upscale: every block one pixel
    np.testing.assert_array_equal(got, np.repeat(np.repeat(expected, scale, axis=0), scale, axis=1))


@pytest.mark.parametrize("dim", [1, 2])
def test_points_png_renders_a_picture_of_the_generated_points_over_the_real_ones(dim):
    rng = np.random.default_rng(0)
    generated, real = rng.normal(size=(500, dim)), rng.normal(size=(500, dim))
    picture = decoded(points_png(generated, real, "a title"))
    assert picture.shape[:2] == (400, 400)  # 4 x 4 inches at 100 dpi
    assert len(np.unique(picture.reshape(-1, picture.shape[-1]), axis=0)) > 10  # points, not a blank canvas
    assert points_png(generated, real, "a title") == points_png(generated, real, "a title")  # same bytes
