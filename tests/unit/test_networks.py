"""Every network at every supported resolution: shapes, ranges, the exact
tutorial MLP, and DCGAN's initialisation."""

import pytest
import torch
from torch import nn

from pipeline_src.training.networks import DCGAN_SIDES, build_networks

OPTIONS = {"z_dim": 100, "dcgan_width": 8, "toy_width": 32, "toy_depth": 2, "loss": "non_saturating"}


def test_mlp_is_exactly_the_tutorial_network():
    g, d = build_networks("mlp", (1, 28, 28), OPTIONS)
    g_linear = [(m.in_features, m.out_features) for m in g.modules() if isinstance(m, nn.Linear)]
    d_linear = [(m.in_features, m.out_features) for m in d.modules() if isinstance(m, nn.Linear)]
    assert g_linear == [(100, 256), (256, 512), (512, 1024), (1024, 784)]
    assert d_linear == [(784, 1024), (1024, 512), (512, 256), (256, 1)]
    slopes = {m.negative_slope for m in list(g.modules()) + list(d.modules()) if isinstance(m, nn.LeakyReLU)}
    assert slopes == {0.01}
    assert isinstance(list(g.modules())[-1], nn.Tanh)
    assert not any(isinstance(m, nn.Sigmoid) for m in d.modules())  # D returns logits


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 32, 32), (3, 32, 32)])
def test_mlp_shapes(shape):
    g, d = build_networks("mlp", shape, OPTIONS)
    x = g(torch.randn(5, 100))
    assert x.shape == (5, *shape) and x.abs().max() <= 1
    assert d(x).shape == (5,)


@pytest.mark.parametrize("side", DCGAN_SIDES)
@pytest.mark.parametrize("channels", [1, 3])
def test_dcgan_shapes_at_every_side(side, channels):
    g, d = build_networks("dcgan", (channels, side, side), OPTIONS)
    x = g(torch.randn(4, 100))
    assert x.shape == (4, channels, side, side) and x.abs().max() <= 1
    assert d(x).shape == (4,)
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == {8: 2, 16: 3, 32: 4, 64: 5}[side]  # stride-2 down to 4x4, then 4x4 -> 1x1


def test_dcgan_init_and_batchnorm():
    torch.manual_seed(0)
    g, d = build_networks("dcgan", (3, 64, 64), {**OPTIONS, "dcgan_width": 64})
    weights = torch.cat([m.weight.flatten() for m in g.modules() if isinstance(m, nn.ConvTranspose2d)])
    assert weights.mean().abs() < 1e-3 and weights.std().item() == pytest.approx(0.02, rel=0.02)
    assert any(isinstance(m, nn.BatchNorm2d) for m in d.modules())
    _, critic = build_networks("dcgan", (3, 64, 64), {**OPTIONS, "loss": "wgan_gp"})
    assert not any(isinstance(m, nn.BatchNorm2d) for m in critic.modules())  # GP is per sample


def test_dcgan_refuses_unsupported_side():
    with pytest.raises(ValueError, match="dcgan supports image sides"):
        build_networks("dcgan", (1, 12, 12), OPTIONS)


@pytest.mark.parametrize("dim", [1, 2])
def test_toy_mlp_shapes(dim):
    g, d = build_networks("toy_mlp", (dim,), {**OPTIONS, "z_dim": 2})
    x = g(torch.randn(7, 2))
    assert x.shape == (7, dim) and d(x).shape == (7,)
    assert sum(isinstance(m, nn.Linear) for m in g.modules()) == OPTIONS["toy_depth"] + 1


@pytest.mark.parametrize("model, shape", [("toy_mlp", (2,)), ("mlp", (1, 8, 8)), ("dcgan", (3, 16, 16))])
def test_packing_discriminator_judges_consecutive_samples_together(model, shape):
    """PacGAN: D of pack m sees m samples concatenated (features / channels) and gives one logit per pack."""
    _, plain = build_networks(model, shape, OPTIONS)
    _, packed = build_networks(model, shape, {**OPTIONS, "pack": 4})
    assert type(plain) is not type(packed)
    x = torch.randn(8, *shape)
    packed.eval()
    out = packed(x)
    assert out.shape == (2,)
    inner = packed.d
    torch.testing.assert_close(out[1], inner(torch.cat(list(x[4:8]), dim=0)[None])[0])  # the 2nd pack: samples 4..7
    with pytest.raises(ValueError, match="packs of 4"):
        packed(x[:6])
