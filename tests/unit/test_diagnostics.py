"""Every failure flag of diagnostics.json, the seed documents' failure modes: a synthetic log that
must raise it, and one close to it that must not; and the losses for which a flag has no meaning
(n/a, None)."""

from __future__ import annotations

import math

import pytest
import yaml

from pipeline_src.training import FAILURE_FLAGS
from pipeline_src.training.diagnostics import diagnose
from tests.conftest import REPO

THRESHOLDS = yaml.safe_load((REPO / "params.yaml").read_text())["train"]["diagnostics"]
N = 40  # log rows; the tail is the last quarter, the start the first tenth


def log(**columns) -> list[dict]:
    """N log rows: each column a constant, or a function of the row's position in [0, 1)."""
    base = {"loss_d": 1.3, "loss_g": 0.8, "d_real": 0.55, "d_fake": 0.45, "grad_norm_d": 1.0,
            "grad_norm_g": 1.0, "loss_d_fake": 0.7, "d_heldout": 0.55}
    base.update(columns)
    return [{"step": 10 * (i + 1), **{k: v(i / N) if callable(v) else v for k, v in base.items()}}
            for i in range(N)]


def flags(rows, loss="non_saturating", diverged_at=None, diversity=1.0) -> dict:
    out = diagnose(rows, loss, THRESHOLDS, diverged_at, diversity)
    return {f: out[f] for f in FAILURE_FLAGS}


def raised(rows, **kwargs) -> set[str]:
    return {f for f, v in flags(rows, **kwargs).items() if v}


def test_a_balanced_run_raises_no_flag():
    assert raised(log()) == set()


def test_diverged_when_the_loop_stopped_on_a_non_finite_loss():
    assert raised(log(), diverged_at=200) == {"diverged"}


def test_saturated_when_d_rejects_every_fake_and_g_gradient_vanishes():
    # D(G(z)) -> 0.01 and G's gradient at 5% of its start (Goodfellow's saturating minimax)
    rows = log(d_fake=lambda t: 0.45 if t < 0.5 else 0.01, grad_norm_g=lambda t: 1.0 if t < 0.5 else 0.05)
    assert "saturated" in raised(rows, loss="minimax")
    close = log(d_fake=lambda t: 0.45 if t < 0.5 else 0.01, grad_norm_g=lambda t: 1.0 if t < 0.5 else 0.2)
    assert "saturated" not in raised(close, loss="minimax")  # the gradient still flows


@pytest.mark.parametrize("loss", ["non_saturating", "hinge", "lsgan"])
def test_d_wins_when_its_loss_reaches_its_floor(loss):
    assert "d_wins" in raised(log(loss_d=lambda t: 1.3 if t < 0.5 else 0.02), loss=loss)
    assert "d_wins" not in raised(log(loss_d=lambda t: 1.3 if t < 0.5 else 0.2), loss=loss)


@pytest.mark.parametrize("loss", ["non_saturating", "hinge", "lsgan"])
def test_d_loses_when_its_loss_on_fakes_keeps_growing(loss):
    assert "d_loses" in raised(log(loss_d_fake=lambda t: 0.7 + 2.0 * t), loss=loss)  # 0.7 -> 2.5
    assert "d_loses" not in raised(log(loss_d_fake=lambda t: 0.7 + 0.5 * t), loss=loss)  # 0.7 -> 1.2


@pytest.mark.parametrize("side", [0.3, -0.3])
def test_d_one_sided_when_real_and_fake_fall_on_one_side_of_one_half(side):
    # everything called real (0.8, 0.8) or everything called generated (0.2, 0.2)
    assert "d_one_sided" in raised(log(d_real=0.5 + side, d_fake=0.5 + side))
    # one side, but within the margin of 1/2: the noise of an equilibrium
    assert "d_one_sided" not in raised(log(d_real=0.5 + side / 6, d_fake=0.5 + side / 6))
    # apart on the two sides: D tells them apart, whatever its accuracy
    assert "d_one_sided" not in raised(log(d_real=0.9, d_fake=0.1))


@pytest.mark.parametrize("loss", ["non_saturating", "lsgan"])
def test_d_overfit_when_d_tells_its_training_data_from_held_out_data(loss):
    # D(x) on training batches 0.9 at the end, on held-out real data 0.6: a gap of 0.3 that grew from 0
    assert "d_overfit" in raised(log(d_real=lambda t: 0.55 + 0.35 * t, d_heldout=lambda t: 0.55 + 0.05 * t), loss=loss)
    # a gap below the threshold, or one as wide at the start as at the end, is not a trend
    assert "d_overfit" not in raised(log(d_real=lambda t: 0.55 + 0.1 * t, d_heldout=0.55), loss=loss)
    assert "d_overfit" not in raised(log(d_real=0.8, d_heldout=0.55), loss=loss)


def test_oscillating_when_g_loss_swings_at_the_end():
    assert "oscillating" in raised(log(loss_g=lambda t: 0.8 + 0.7 * math.sin(40 * t)))
    assert "oscillating" not in raised(log(loss_g=lambda t: 0.8 + 0.2 * math.sin(40 * t)))


def test_mode_collapse_when_samples_are_less_diverse_than_data():
    assert "mode_collapse" in raised(log(), diversity=0.3)
    assert "mode_collapse" not in raised(log(), diversity=0.8)


def test_flags_without_meaning_for_a_loss_are_not_applicable():
    """WGAN-GP's critic is unbounded: neither its loss floor nor 1/2 means anything. Hinge has the
    floor but no 1/2 boundary. None is shown as n/a in the report, never as 'not raised'."""
    wgan = flags(log(loss_d=-5.0, d_real=3.0, d_fake=2.0), loss="wgan_gp")
    assert [wgan[f] for f in ("saturated", "d_wins", "d_loses", "d_one_sided", "d_overfit")] == [None] * 5
    hinge = flags(log(d_real=0.9, d_fake=0.9), loss="hinge")
    assert hinge["d_one_sided"] is None and hinge["d_wins"] is False and hinge["saturated"] is None
    assert hinge["d_overfit"] is None
    # a run without a held-out batch (NaN in the column) has no gap to judge
    assert flags(log(d_heldout=float("nan")))["d_overfit"] is None
    assert flags(log(d_real=0.9, d_fake=0.9), loss="lsgan")["d_one_sided"] is True


def test_no_finite_row_leaves_every_flag_but_diverged_unknown():
    rows = log(loss_d=float("nan"), loss_g=float("nan"))
    assert flags(rows, diverged_at=10) == {f: (True if f == "diverged" else None) for f in FAILURE_FLAGS}
