"""Failure diagnostics of a run, computed from its log rows (pure functions).

The seed documents' failure modes, made visible:
- saturation: D wins outright (D(G(z)) -> 0, D loss -> 0) and G's gradient vanishes;
- D too strong (`d_wins`): D's loss near its floor of 0 at the end;
- D too weak (`d_loses`): D's loss on generated samples grown well above where it started;
- divergent D accuracy (`d_one_sided`): D(x) and D(G(z)) on the same side of 1/2 at the end,
  everything classified as real or everything as generated;
- D overfitting (`d_overfit`, Karras et al. 2020): D(x) on training batches above D on held-out real
  samples by a gap that has widened since the start;
- equilibrium distance: |D(x) - 0.5| and |D(G(z)) - 0.5| at the end (BCE losses, whose
  game has its equilibrium at 1/2);
- oscillation: relative amplitude of the G loss over the end of training;
- divergence: NaN/Inf in a loss (the loop stops and keeps its last good checkpoint);
- mode collapse: generated samples much less diverse than real ones.
"""

from __future__ import annotations

import math

import numpy as np

from pipeline_src.training import BCE_LOSSES, FLOORED_D_LOSSES, HALF_BOUNDARY_LOSSES


def tail(rows: list[dict], fraction: float) -> list[dict]:
    """The last `fraction` of the rows (at least one)."""
    k = max(1, math.ceil(len(rows) * fraction))
    return rows[-k:]


def _mean(rows: list[dict], key: str) -> float:
    values = [r[key] for r in rows if math.isfinite(r[key])]
    return float(np.mean(values)) if values else float("nan")


def diversity_ratio(generated: np.ndarray, real: np.ndarray) -> float:
    """Mean pairwise L2 distance among generated samples over the same among real ones.

    Both (n, ...) arrays of equal n; ~1 for a generator that covers the data,
    ~0 when every z maps to (almost) the same output.
    """
    def mean_pairwise(a: np.ndarray) -> float:
        a = a.reshape(len(a), -1).astype(np.float64)
        sq = (a * a).sum(1)
        d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * a @ a.T, 0.0)
        n = len(a)
        return float(np.sqrt(d2).sum() / (n * (n - 1)))

    real_spread = mean_pairwise(real)
    return mean_pairwise(generated) / real_spread if real_spread > 0 else float("nan")


def d_balance(start: list[dict], end: list[dict], loss: str, thresholds: dict) -> dict:
    """The flags of a D too strong, too weak or one-sided, from the first and the last log rows;
    None (n/a) where the loss gives the check no meaning (WGAN-GP's unbounded critic; 1/2 as a
    boundary for BCE and LSGAN only)."""
    out: dict = {"d_wins": None, "d_loses": None, "d_one_sided": None, "d_overfit": None}
    if loss in FLOORED_D_LOSSES:
        loss_end = _mean(end, "loss_d")
        fake_start, fake_end = _mean(start, "loss_d_fake"), _mean(end, "loss_d_fake")
        out["loss_d_end"], out["loss_d_fake"] = loss_end, {"start": fake_start, "end": fake_end}
        out["d_wins"] = bool(loss_end < thresholds["d_wins_loss"])
        out["d_loses"] = bool(fake_end > thresholds["d_loses_ratio"] * fake_start)
    if loss in HALF_BOUNDARY_LOSSES:
        d_real, d_fake = _mean(end, "d_real") - 0.5, _mean(end, "d_fake") - 0.5
        margin = thresholds["one_sided_margin"]
        out["d_one_sided"] = bool(min(d_real, d_fake) > margin or max(d_real, d_fake) < -margin)
        gap_start, gap_end = _gap(start), _gap(end)
        if math.isfinite(gap_end):  # a run without a held-out batch has no gap
            out["d_heldout_gap"] = {"start": gap_start, "end": gap_end}
            out["d_overfit"] = bool(gap_end > thresholds["overfit_gap"] and gap_end > gap_start)
    return out


def _gap(rows: list[dict]) -> float:
    """Mean D(x) on training batches minus D on the held-out batch."""
    return _mean(rows, "d_real") - _mean(rows, "d_heldout")


def diagnose(rows: list[dict], loss: str, thresholds: dict, diverged_at: int | None,
             diversity: float | None) -> dict:
    """diagnostics.json: measured values, and a boolean flag per failure mode."""
    out: dict = {"loss": loss, "thresholds": thresholds, "n_log_rows": len(rows)}
    out["diverged"] = diverged_at is not None
    out["diverged_at_step"] = diverged_at
    finite_rows = [r for r in rows if all(math.isfinite(r[k]) for k in ("loss_d", "loss_g"))]
    if not finite_rows:
        out.update(saturated=None, d_wins=None, d_loses=None, d_one_sided=None, d_overfit=None, oscillating=None,
                   equilibrium_distance=None, mode_collapse=None, diversity_ratio=diversity)
        return out
    end = tail(finite_rows, thresholds["tail_fraction"])
    start = finite_rows[: max(1, len(finite_rows) // 10)]
    g_grad_end, g_grad_start = _mean(end, "grad_norm_g"), _mean(start, "grad_norm_g")
    out["grad_norm_g"] = {"start": g_grad_start, "end": g_grad_end}
    if loss in BCE_LOSSES:
        d_real, d_fake = _mean(end, "d_real"), _mean(end, "d_fake")
        out["equilibrium_distance"] = {"d_real": abs(d_real - 0.5), "d_fake": abs(d_fake - 0.5)}
        out["d_real_end"], out["d_fake_end"] = d_real, d_fake
        out["saturated"] = bool(
            d_fake < thresholds["saturation_d_fake"]
            and g_grad_end < thresholds["vanishing_grad_ratio"] * g_grad_start
        )
    else:
        out["equilibrium_distance"] = None  # hinge / LSGAN / WGAN outputs have no 1/2 equilibrium
        out["saturated"] = None
    out.update(d_balance(start, end, loss, thresholds))
    g_losses = np.array([r["loss_g"] for r in end])
    scale = max(abs(float(np.mean(g_losses))), 1e-8)
    out["oscillation"] = float(np.std(g_losses) / scale) if len(g_losses) > 1 else 0.0
    out["oscillating"] = bool(out["oscillation"] > thresholds["oscillation"])
    out["diversity_ratio"] = diversity
    out["mode_collapse"] = None if diversity is None or not math.isfinite(diversity) else bool(
        diversity < thresholds["collapse_diversity"])
    return out
