"""Trainer options that change the algorithm: reuse_fake spends one G forward per step; pack; the
eager optimisers (no torch._dynamo import) compute what torch.optim does."""

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


def test_linear_decay_runs_the_learning_rates_down_to_zero_from_its_start():
    t = trainer(lr_decay="linear", lr_decay_start=0.5, steps=10, lr_g=1e-3, lr_d=2e-3)
    seen = []
    for _ in range(10):
        t.train_step()
        seen.append((t.opt_g.param_groups[0]["lr"], t.opt_d.param_groups[0]["lr"]))
    assert seen[:5] == [(1e-3, 2e-3)] * 5  # constant before the start
    assert [round(g / 1e-3, 12) for g, _ in seen[5:]] == [1.0, 0.8, 0.6, 0.4, 0.2]
    assert all(d == pytest.approx(2 * g) for g, d in seen)


def test_a_trainer_restored_mid_decay_continues_the_same_schedule():
    options = dict(lr_decay="linear", lr_decay_start=0.0, steps=6)
    whole, first = trainer(**options), trainer(**options)
    for _ in range(6):
        whole.train_step()
    for _ in range(3):
        first.train_step()
    resumed = trainer(**options)
    resumed.load_state_dict(first.state_dict())
    for _ in range(3):
        resumed.train_step()
    assert resumed.opt_g.param_groups[0]["lr"] == whole.opt_g.param_groups[0]["lr"]
    assert all(torch.equal(a, b) for a, b in zip(resumed.g.state_dict().values(), whole.g.state_dict().values()))


def test_constant_schedule_keeps_the_configured_rates():
    t = trainer(steps=4)
    for _ in range(4):
        t.train_step()
    assert t.opt_g.param_groups[0]["lr"] == t.options["lr_g"]


def test_r1_penalty_changes_the_discriminator_update_only_when_on():
    plain, r1 = trainer(), trainer(r1_weight=10.0)
    plain.train_step()
    r1.train_step()
    assert all(torch.equal(a, b) for a, b in zip(trainer().d.state_dict().values(), trainer().d.state_dict().values()))
    assert not all(torch.equal(a, b) for a, b in zip(plain.d.state_dict().values(), r1.d.state_dict().values()))
    assert torch.isfinite(r1.acc).all()


def test_lazy_r1_penalises_every_kth_discriminator_update_with_k_times_the_weight(monkeypatch):
    from pipeline_src.training import losses

    calls = []
    real_penalty = losses.r1_penalty
    monkeypatch.setattr(losses, "r1_penalty", lambda d, x: calls.append(1) or real_penalty(d, x))
    t = trainer(r1_weight=2.0, r1_every=3, d_steps=2)
    for _ in range(6):  # 12 D updates: the penalty on updates 0, 3, 6 and 9
        t.train_step()
    assert len(calls) == 4
    # one update with the penalty: the same D as r1_weight 6 applied every time, for that update
    lazy, eager_ = trainer(r1_weight=2.0, r1_every=3), trainer(r1_weight=6.0)
    lazy.train_step()
    eager_.train_step()
    assert all(torch.equal(a, b) for a, b in zip(lazy.d.state_dict().values(), eager_.d.state_dict().values()))


def test_sgd_steps_in_proportion_to_the_gradient_and_adam_does_not():
    """Why the optimiser matters for minimax: SGD's step scales with the gradient, Adam's barely."""
    steps = {}
    for optimizer in ("sgd", "adam"):
        for scale in (1.0, 1e-3):
            t = trainer(optimizer=optimizer, momentum=0.0, lr_g=1e-2)
            before = [p.detach().clone() for p in t.g.parameters()]
            for p in t.g.parameters():
                p.grad = torch.ones_like(p) * scale
            t.opt_g.step()
            steps[optimizer, scale] = sum((p - b).abs().sum().item() for p, b in zip(t.g.parameters(), before))
    assert isinstance(trainer(optimizer="sgd").opt_g, torch.optim.SGD)
    assert steps["sgd", 1e-3] == pytest.approx(steps["sgd", 1.0] * 1e-3, rel=1e-3)
    assert steps["adam", 1e-3] == pytest.approx(steps["adam", 1.0], rel=1e-2)


@pytest.mark.parametrize("cls, kwargs", [(torch.optim.Adam, {"lr": 1e-2, "betas": (0.5, 0.999)}),
                                         (torch.optim.SGD, {"lr": 1e-2, "momentum": 0.9})])
def test_the_eager_optimiser_gives_torch_optims_bits_and_state(cls, kwargs):
    from pipeline_src.optim import eager

    def run(optimizer_class):
        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
        opt = optimizer_class(net.parameters(), **kwargs)
        for _ in range(5):
            opt.zero_grad()
            net(torch.randn(16, 3)).square().mean().backward()
            opt.step()
        return net, opt

    (net, opt), (eager_net, eager_opt) = run(cls), run(eager(cls))
    assert isinstance(eager_opt, cls) and eager(cls) is eager(cls)
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), eager_net.state_dict().values()))
    state, eager_state = opt.state_dict(), eager_opt.state_dict()
    assert state["param_groups"] == eager_state["param_groups"]
    for key in state["state"]:
        assert state["state"][key].keys() == eager_state["state"][key].keys()
        assert all(torch.equal(state["state"][key][k], eager_state["state"][key][k]) for k in state["state"][key])
    eager_opt.load_state_dict(state)  # each loads the other's state
    opt.load_state_dict(eager_state)
    assert all(p.grad is not None for p in eager_net.parameters())
    eager_opt.zero_grad()
    assert all(p.grad is None for p in eager_net.parameters())


def test_eager_training_never_imports_torch_dynamo_and_compile_uses_torch_optim():
    import subprocess
    import sys

    code = ("import sys, torch; from tests.unit.test_trainer import trainer\n"
            "t = trainer(optimizer='adam'); t.train_step(); t.train_step(); t.load_state_dict(t.state_dict())\n"
            "assert 'torch._dynamo' not in sys.modules, 'torch._dynamo was imported'\n"
            "assert type(t.opt_g).__module__ == 'pipeline_src.optim'")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    from pipeline_src.training.optimizers import make_optimizer

    compiled = make_optimizer(torch.nn.Linear(2, 2), 1e-3, {"optimizer": "adam", "betas": [0.5, 0.999], "compile": True})
    assert type(compiled) is torch.optim.Adam


def digits_split(n_train: int, n_heldout: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Two disjoint sets of scikit-learn's 8x8 digits as uint8 (N, 1, 8, 8), as prepare stores them."""
    from sklearn.datasets import load_digits

    x = torch.from_numpy(load_digits().images * (255 / 16)).round().to(torch.uint8)[:, None]
    return x[:n_train], x[n_train:n_train + n_heldout]


def test_looking_at_d_on_held_out_data_does_not_change_the_run():
    """The held-out column costs one forward pass of D per log row and changes nothing else: BatchNorm
    statistics are put back, no random number is drawn."""
    data, heldout = digits_split(128, 64)
    params = load_params(REPO / "params.yaml")
    options = {**params["train"], **params["variants"]["ns_dcgan_digits"], "batch_size": 16, "log_every": 2}
    runs = []
    for held in (None, heldout):
        t = Trainer(options, data, seed=0, device=torch.device("cpu"), heldout=held)
        for _ in range(4):
            t.train_step()
            if t.step % 2 == 0:
                t.log_row()
        runs.append(t)
    without, with_heldout = runs
    assert all(torch.equal(a, b) for a, b in zip(without.d.state_dict().values(), with_heldout.d.state_dict().values()))
    assert all(torch.equal(a, b) for a, b in zip(without.g.state_dict().values(), with_heldout.g.state_dict().values()))
    assert all(r["d_heldout"] != r["d_heldout"] for r in without.rows)  # NaN: no held-out batch
    assert all(0 < r["d_heldout"] < 1 for r in with_heldout.rows)  # a probability (non-saturating)


@pytest.mark.parametrize("n_train, overfits", [(16, True), (4096, False)])
def test_d_memorising_a_tiny_training_set_raises_d_overfit(n_train, overfits):
    """16 training points of ring8 (wider modes, sigma 0.05) and 5 D updates per G update: D learns
    the training points themselves, its output on them pulls away from its output on held-out points
    of the same modes, and the flag rises. With 4096 training points D cannot, and it does not."""
    import numpy as np

    from pipeline_src import datasets
    from pipeline_src.training.diagnostics import diagnose

    ring = datasets.get("ring8")
    shape = {"radius": 1.0, "sigma": 0.05}
    data, _ = ring.sample(n_train, shape, np.random.default_rng(0))
    heldout, _ = ring.sample(64, shape, np.random.default_rng(1))
    params = load_params(REPO / "params.yaml")
    options = {**params["train"], **params["variants"]["ns_toy_ring8"], "toy_width": 64, "toy_depth": 3,
               "d_steps": 5, "lr_d": 1e-3, "batch_size": 64, "log_every": 50, "pack": 1, "r1_weight": 0.0}
    t = Trainer(options, torch.from_numpy(data), seed=0, device=torch.device("cpu"), heldout=torch.from_numpy(heldout))
    for _ in range(300):
        t.train_step()
        if t.step % options["log_every"] == 0:
            t.log_row()
    out = diagnose(t.rows, options["loss"], options["diagnostics"], None, None)
    assert out["d_overfit"] is overfits, out["d_heldout_gap"]
