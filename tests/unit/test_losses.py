"""GAN objectives against hand-computed values, and the saturation that motivates
the non-saturating loss (Goodfellow et al. 2014, section 3)."""

import math

import pytest
import torch

from pipeline_src.training import losses

REAL = torch.tensor([0.0, 2.0])
FAKE = torch.tensor([-1.0, 0.5])


def softplus(v: float) -> float:
    return math.log1p(math.exp(v))


def test_bce_d_loss_by_hand():
    # -[log sigmoid(r)] - [log(1 - sigmoid(f))], averaged over the batch
    expected = (softplus(-0.0) + softplus(-2.0)) / 2 + (softplus(-1.0) + softplus(0.5)) / 2
    for kind in ("minimax", "non_saturating"):  # same D objective
        assert losses.d_loss(kind, REAL, FAKE).item() == pytest.approx(expected, rel=1e-6)


def test_g_losses_by_hand():
    assert losses.g_loss("minimax", FAKE).item() == pytest.approx(-(softplus(-1.0) + softplus(0.5)) / 2, rel=1e-6)
    assert losses.g_loss("non_saturating", FAKE).item() == pytest.approx((softplus(1.0) + softplus(-0.5)) / 2, rel=1e-6)
    assert losses.g_loss("hinge", FAKE).item() == pytest.approx(0.25)
    assert losses.g_loss("wgan_gp", FAKE).item() == pytest.approx(0.25)
    assert losses.g_loss("lsgan", FAKE).item() == pytest.approx(0.5 * ((-2.0) ** 2 + (-0.5) ** 2) / 2)


def test_other_d_losses_by_hand():
    # hinge: mean relu(1 - r) + mean relu(1 + f) = (1 + 0)/2 + (0 + 1.5)/2
    assert losses.d_loss("hinge", REAL, FAKE).item() == pytest.approx(0.5 + 0.75)
    # lsgan: 0.5 mean (r - 1)^2 + 0.5 mean f^2 = 0.5 * (1 + 1)/2 + 0.5 * (1 + 0.25)/2
    assert losses.d_loss("lsgan", REAL, FAKE).item() == pytest.approx(0.5 + 0.3125)
    # wgan: mean f - mean r = -0.25 - 1
    assert losses.d_loss("wgan_gp", REAL, FAKE).item() == pytest.approx(-1.25)


def test_label_smoothing_is_one_sided():
    smooth = losses.d_loss("non_saturating", REAL, FAKE, label_smoothing=0.1)
    target = torch.tensor([0.9, 0.9])
    expected = torch.nn.functional.binary_cross_entropy_with_logits(REAL, target) + \
        torch.nn.functional.binary_cross_entropy_with_logits(FAKE, torch.zeros(2))
    assert smooth.item() == pytest.approx(expected.item(), rel=1e-6)


def g_grad(kind: str, logit: float) -> float:
    x = torch.tensor([logit], requires_grad=True)
    losses.g_loss(kind, x).backward()
    return x.grad.item()


def test_saturating_generator_gradient_vanishes_when_d_rejects_fakes():
    # D(G(z)) = sigmoid(-10) = 4.5e-5: D confidently rejects the sample, as early in training.
    mm, ns = g_grad("minimax", -10.0), g_grad("non_saturating", -10.0)
    assert abs(mm) == pytest.approx(torch.sigmoid(torch.tensor(-10.0)).item(), rel=1e-4)  # d/dl log(1-s(l)) = -s(l)
    assert abs(ns) == pytest.approx(1 - torch.sigmoid(torch.tensor(-10.0)).item(), rel=1e-4)  # d/dl -log s(l) = -(1-s(l))
    assert abs(mm) < 1e-4 < 0.99 < abs(ns)
    assert mm < 0 and ns < 0  # both push the logit up; only the size differs


@pytest.mark.parametrize("kind", losses.LOSSES)
def test_losses_stay_finite_for_extreme_logits(kind):
    big = torch.tensor([1e4, -1e4])
    assert torch.isfinite(losses.d_loss(kind, big, -big))
    assert torch.isfinite(losses.d_loss(kind, -big, big))
    assert torch.isfinite(losses.g_loss(kind, big)) and torch.isfinite(losses.g_loss(kind, -big))


def test_gradient_penalty_of_a_linear_critic_is_norm_minus_one_squared():
    w = torch.tensor([3.0, 4.0])  # ||w|| = 5
    critic = lambda x: x @ w  # noqa: E731
    real, fake = torch.randn(6, 2), torch.randn(6, 2)
    gp = losses.gradient_penalty(critic, real, fake, torch.rand(6))
    assert gp.item() == pytest.approx((5.0 - 1.0) ** 2)


def test_d_output_summary_is_a_probability_for_bce_losses_only():
    out = torch.tensor([0.0, 0.0])
    assert losses.d_output_summary("minimax", out).item() == 0.5
    assert losses.d_output_summary("hinge", out).item() == 0.0


def test_unknown_loss_is_refused():
    with pytest.raises(ValueError, match="unknown loss 'nonsat'"):
        losses.g_loss("nonsat", FAKE)


def test_r1_of_a_quadratic_critic_by_hand():
    """D(x) = sum(x^2): grad = 2x, so R1 = E ||2x||^2; the output is D's forward on x."""
    class Square(torch.nn.Module):
        def forward(self, x):
            return (x ** 2).sum(dim=1)

    real = torch.tensor([[1.0, 2.0], [0.0, -1.0]])
    penalty, out = losses.r1_penalty(Square(), real)
    assert penalty.item() == pytest.approx(((4 + 16) + (0 + 4)) / 2)
    assert out.tolist() == [5.0, 1.0]
    penalty.backward()  # differentiable (create_graph): it trains D
