"""Which saved G of a run is evaluated: every saved G (the snapshots every `snapshot_every` steps, and
the last) is scored by its dataset's selection metric on a z stream of its own; `evaluate.checkpoint:
best` takes the lowest score (ties to the later step), `last` the last G. The metrics file records
the choice (`checkpoint`, `step`, `last_step`, the scores), and `evaluated_generator` reads it back
for the report's figures.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import torch

from pipeline_src import datasets
from pipeline_src.devices import resolve_device
from pipeline_src.features import EXTRACTORS, compare, open_extractor
from pipeline_src.features.reference import load_reference
from pipeline_src.io import atomic_write_bytes
from pipeline_src.metrics.toys import mode_js, sliced_w1
from pipeline_src.paths import RunFiles, snapshot_step
from pipeline_src.training.generator import generate, load_generator, to_uint8


def eval_seed(evaluate: dict, seed: int) -> int:
    """The seed of the z that the final metrics of run `seed` are computed on (`evaluate` options)."""
    return 1_000_003 * evaluate["seed"] + seed


class Scorer:
    """The score that ranks a run's saved generators (lower is better), on a z stream of
    its own: the dataset's `selection` (FD_classifier for images, mode_js for mixtures, sliced W1 to the
    truth for a single Gaussian). `options` are evaluate's job options."""

    def __init__(self, options: dict, seed: int, results: Path):
        ev = options["evaluate"]
        self.n, self.batch_size = ev["select_samples"], ev["batch_size"]
        self.z_seed = eval_seed(ev, seed) + 500_009  # apart from the final evaluation's samples
        self.device = resolve_device(ev["device"])
        self.unavailable = None
        dataset, data_options = options["run"]["dataset"], options["dataset"]
        spec = datasets.spec_of(dataset, data_options)
        self.metric = spec.selection
        if self.metric == "sliced_w1":
            self.real, _ = spec.sample(self.n, data_options, np.random.default_rng(self.z_seed))
            return
        if self.metric == "mode_js":
            self.centres, self.sigma = spec.modes(data_options)
            self.threshold = ev["hq_threshold"]
            return
        # an image score comes from the extractor that gives it (FD_classifier: the dataset's classifier)
        self.extractor_name = next(name for name, kind in EXTRACTORS.items() if self.metric in kind.metrics)
        arrays, summary = load_reference(dataset, results)
        if self.extractor_name not in summary["extractors"]:
            self.unavailable = summary["unavailable"].get(self.extractor_name,
                                                          f"{self.extractor_name} is not in reference.extractors")
            return
        self.reference = arrays[self.extractor_name]
        self.extractor = open_extractor(self.extractor_name,
                                        Path(summary["extractors"][self.extractor_name]["weights"]),
                                        ev["batch_size"], self.device)

    def __call__(self, g: torch.nn.Module, saved: dict) -> float:
        x = generate(g, saved, self.n, self.z_seed, self.batch_size, self.device)
        if not torch.isfinite(x).all():
            return math.inf
        if self.metric == "mode_js":
            return mode_js(x.double().numpy(), self.centres, self.sigma, self.threshold)
        if self.metric == "sliced_w1":
            return sliced_w1(x.double().numpy(), self.real)
        return compare(self.extractor_name, self.extractor(to_uint8(x)), self.reference)[self.metric]


def select_generator(run: RunFiles, options: dict, seed: int, results: Path) -> tuple[torch.nn.Module, dict, dict, list]:
    """(G, its record, what the metrics JSON says about the choice, [(step, score)] of every saved G)."""
    g, saved = load_generator(run)  # the last
    choice = {"checkpoint": "last", "last_step": saved["step"]}
    scorer = Scorer(options, seed, results)
    if scorer.unavailable is not None:
        choice["unavailable"] = {"select_score": f"no selection score: {scorer.unavailable}; the last G is evaluated"}
        return g, saved, choice, []
    trajectory, best = [], (math.inf, 0, None)
    for path in run.saved_generators():
        if path != run.generator and snapshot_step(path) >= saved["step"]:
            continue  # written after the last good state of a diverged run
        candidate, record = (g, saved) if path == run.generator else load_generator(run, path, expected=saved)
        score = scorer(candidate, record)
        score = math.inf if math.isnan(score) else score
        trajectory.append((record["step"], score))
        if (score, -record["step"]) <= (best[0], -best[1]):  # ties go to the later step
            best = (score, record["step"], (candidate, record))
    choice.update(select_metric=scorer.metric, select_samples=scorer.n, select_score_last=trajectory[-1][1])
    if options["evaluate"]["checkpoint"] == "best" and best[2] is not None:
        g, saved = best[2]
        choice["checkpoint"] = "best"
    choice["select_score"] = dict(trajectory)[saved["step"]]
    return g, saved, choice, trajectory


def write_trajectory(path: Path, metric: str | None, trajectory: list) -> None:
    """seed{seed}.steps.csv: step, the selection score of the G saved at that step."""
    buf = io.StringIO()
    buf.write(f"step,{metric or 'select_score'}\n")
    for step, score in trajectory:
        buf.write(f"{step},{score!r}\n")
    atomic_write_bytes(path, buf.getvalue().encode())


def evaluated_generator(run: RunFiles, metrics: dict) -> tuple[torch.nn.Module, dict]:
    """The G a run's metrics file says was evaluated: the last one, or the snapshot at its step."""
    last = metrics.get("last_step", metrics["step"]) == metrics["step"]
    return load_generator(run, None if last else run.snapshot(metrics["step"]))
