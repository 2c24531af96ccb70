"""When to stop training (the seed documents: "when the FID score stops improving or reaches a
satisfactory value"): a rule over the selection scores of a run's snapshots so far, lower is better.

`train.early_stop` (overridable per variant) holds its three settings; the run is scored at every
snapshot with the score `evaluate` selects by (pipeline_src/selection.py).
"""

from __future__ import annotations

import math
from pathlib import Path

from pipeline_src.io import atomic_write_lines

# Why a run ended, as diagnostics.json and options.json record it.
PATIENCE = "patience"  # `patience` snapshots in a row without an improvement of more than `min_delta`
TARGET = "target"  # the score reached `target`
STEPS = "steps"  # its step budget ran out
DIVERGED = "diverged"  # a non-finite loss: the last good state was kept
EARLY_REASONS = (PATIENCE, TARGET)


def stop_reason(scores: list[float], patience: int | None, min_delta: float, target: float | None) -> str | None:
    """PATIENCE, TARGET or None (go on), after the scores of the snapshots so far, in step order.

    A score counts as an improvement when it is below the best earlier score by more than
    `min_delta`; the first finite score is the first best. A non-finite score (G drew NaN) never
    improves, and never meets the target."""
    if not scores:
        return None
    if target is not None and math.isfinite(scores[-1]) and scores[-1] <= target:
        return TARGET
    if patience is None:
        return None
    best, since = math.inf, 0
    for score in scores:
        if math.isfinite(score) and (best == math.inf or score < best - min_delta):
            best, since = score, 0
        else:
            since += 1
    return PATIENCE if since >= patience else None


def scores_header(metric: str | None) -> str:
    """The header of a scores file (train's scores.csv, evaluate's steps.csv): step, and the
    selection score of the G saved at that step, named after its metric."""
    return f"step,{metric or 'select_score'}"


def score_line(step: int, score: float) -> str:
    return f"{step},{score!r}"


def write_scores(path: Path, metric: str | None, scores: list[tuple[int, float]]) -> None:
    atomic_write_lines(path, [scores_header(metric), *(score_line(s, v) for s, v in scores)])
