"""Trainer options that change the algorithm: reuse_fake spends one G forward per step; pack."""

import pytest
import torch

from pipeline_src.params import load_params
from pipeline_src.training.loop import Trainer
from tests.conftest import REPO


def trainer(**overrides) -> Trainer:
    params = load_params(REPO / "params.yaml")
    options = {**params["train"], **params["variants"]["ns_toy_ring8"], "toy_width": 16, "toy_depth": 1,
               "batch_size": 8, **overrides}
    data = torch.randn(64, 2)
    return Trainer(options, data, seed=0, device=torch.device("cpu"))


@pytest.mark.parametrize("reuse, forwards", [(False, 2), (True, 1)])
def test_reuse_fake_spends_one_generator_forward_per_step(reuse, forwards):
    t = trainer(reuse_fake=reuse)
    calls = []
    t.g.register_forward_hook(lambda *args: calls.append(1))
    t.train_step()
    assert len(calls) == forwards


def test_reuse_fake_still_trains_the_generator():
    t = trainer(reuse_fake=True)
    before = [p.detach().clone() for p in t.g.parameters()]
    t.train_step()
    assert any(not torch.equal(b, p) for b, p in zip(before, t.g.parameters()))
    assert t._fake_for_g is None  # nothing held between steps (checkpoints see no stale graph)


@pytest.mark.parametrize("loss", ["non_saturating", "wgan_gp"])
def test_packing_trains_both_networks_with_every_penalty(loss):
    t = trainer(pack=4, loss=loss)
    weights = lambda: [p for p in list(t.g.parameters()) + list(t.d.parameters()) if p.dim() > 1]  # noqa: E731
    before = [p.detach().clone() for p in weights()]  # (a critic's output bias gets no gradient: left out)
    for _ in range(3):
        t.train_step()
    after = weights()
    assert all(not torch.equal(b, p) for b, p in zip(before, after))
    assert torch.isfinite(t.acc).all()
    assert t.d.d.net[0].in_features == 2 * 4  # D's input: four 2-D points
