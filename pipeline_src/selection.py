"""Which saved G of a run is evaluated: every saved G (the snapshots every `snapshot_every` steps, and
the last) is scored by its dataset's selection metric on a z stream of its own; `evaluate.checkpoint:
best` takes the lowest score (ties to the later step), `last` the last G. The metrics file records
the choice (`checkpoint`, `step`, `last_step`, the scores), and `evaluated_generator` reads it back
for the report's figures.
"""

from __future__ import annotations

import copy
import hashlib
import math
from pathlib import Path

import numpy as np
import torch

from pipeline_src import datasets
from pipeline_src.devices import resolve_device
from pipeline_src.features import EXTRACTORS, compare, open_extractor
from pipeline_src.features.reference import load_reference
from pipeline_src.errors import InputError
from pipeline_src.metrics.toys import mode_js, sliced_w1
from pipeline_src.paths import RunFiles, snapshot_step
from pipeline_src.training.generator import generate, load_generator, to_uint8
from pipeline_src.training import SELECT_KEYS
from pipeline_src.training.stopping import stop_reason


def eval_seed(evaluate: dict, seed: int) -> int:
    """The seed of the z that the final metrics of run `seed` are computed on (`evaluate` options)."""
    return 1_000_003 * evaluate["seed"] + seed


class Scorer:
    """The score that ranks a run's saved generators (lower is better), on a z stream of
    its own: the dataset's `selection` (FD_classifier for images, mode_js for mixtures, sliced W1 to the
    truth for a single Gaussian). `select` holds SELECT_KEYS. Its `identity` names everything a score
    depends on besides G: two scorers with one identity give one score to one G (on one machine),
    so evaluate takes a score that train recorded under its identity instead of computing it again."""

    def __init__(self, select: dict, dataset: str, data_options: dict, seed: int, results: Path,
                 device: torch.device):
        self.n, self.batch_size = select["select_samples"], select["batch_size"]
        self.z_seed = eval_seed(select, seed) + 500_009  # apart from the final evaluation's samples
        self.device = device
        self.unavailable = None
        spec = datasets.spec_of(dataset, data_options)
        self.metric = spec.selection
        self.identity = {"metric": self.metric, "n": self.n, "z_seed": self.z_seed, "batch_size": self.batch_size,
                         "device": device.type, "dataset": data_options}
        if self.metric == "sliced_w1":
            self.real, _ = spec.sample(self.n, data_options, np.random.default_rng(self.z_seed))
            return
        if self.metric == "mode_js":
            self.centres, self.sigma = spec.modes(data_options)
            self.threshold = self.identity["hq_threshold"] = select["hq_threshold"]
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
                                        self.batch_size, device)
        self.identity.update(extractor=self.extractor.identity, reference=_arrays_digest(self.reference))

    def __call__(self, g: torch.nn.Module, saved: dict) -> float:
        """The score of G (in eval mode); NaN samples score inf."""
        x = generate(g, saved, self.n, self.z_seed, self.batch_size, self.device)
        if not torch.isfinite(x).all():
            return math.inf
        if self.metric == "mode_js":
            score = mode_js(x.double().numpy(), self.centres, self.sigma, self.threshold)
        elif self.metric == "sliced_w1":
            score = sliced_w1(x.double().numpy(), self.real)
        else:
            score = compare(self.extractor_name, self.extractor(to_uint8(x)), self.reference)[self.metric]
        return math.inf if math.isnan(score) else float(score)

    def score(self, g: torch.nn.Module, saved: dict) -> float:
        """The score `saved` records when it was computed under this identity (train's, when the run
        stops early), else computed."""
        recorded = saved.get("score")
        return recorded["value"] if recorded and recorded["scorer"] == self.identity else self(g, saved)


def _arrays_digest(arrays: dict) -> str:
    h = hashlib.sha256()
    for key in sorted(arrays):
        h.update(key.encode() + np.ascontiguousarray(arrays[key]).tobytes())
    return h.hexdigest()


def evaluate_scorer(options: dict, seed: int, results: Path) -> Scorer:
    """The scorer of an evaluate job (`options`: its job options)."""
    ev = options["evaluate"]
    return Scorer({k: ev[k] for k in SELECT_KEYS}, options["run"]["dataset"], options["dataset"], seed, results,
                  resolve_device(ev["device"]))


def select_generator(run: RunFiles, options: dict, seed: int, results: Path) -> tuple[torch.nn.Module, dict, dict, list]:
    """(G, its record, what the metrics JSON says about the choice, [(step, score)] of every saved G)."""
    g, saved = load_generator(run)  # the last
    choice = {"checkpoint": "last", "last_step": saved["step"]}
    scorer = evaluate_scorer(options, seed, results)
    if scorer.unavailable is not None:
        choice["unavailable"] = {"select_score": f"no selection score: {scorer.unavailable}; the last G is evaluated"}
        return g, saved, choice, []
    trajectory, best = [], (math.inf, 0, None)
    for path in run.saved_generators():
        if path != run.generator and snapshot_step(path) >= saved["step"]:
            continue  # written after the last good state of a diverged run
        candidate, record = (g, saved) if path == run.generator else load_generator(run, path, expected=saved)
        score = scorer.score(candidate, record)
        trajectory.append((record["step"], score))
        if (score, -record["step"]) <= (best[0], -best[1]):  # ties go to the later step
            best = (score, record["step"], (candidate, record))
    choice.update(select_metric=scorer.metric, select_samples=scorer.n, select_score_last=trajectory[-1][1])
    if options["evaluate"]["checkpoint"] == "best" and best[2] is not None:
        g, saved = best[2]
        choice["checkpoint"] = "best"
    choice["select_score"] = dict(trajectory)[saved["step"]]
    return g, saved, choice, trajectory


class EarlyStopping:
    """`train.early_stop` of a run (its train job's `options`): the selection score at every snapshot,
    computed as evaluate computes it (one Scorer, one identity), and whether to stop. The scores live in
    the trainer's state, so a resumed run stops where an uninterrupted one would."""

    def __init__(self, options: dict, seed: int, results: Path, device: torch.device):
        scoring = options["scoring"]
        self.settings = options["early_stop"]
        self.scorer = Scorer(scoring["select"], options["dataset"], scoring["dataset"], seed, results, device)
        if self.scorer.unavailable is not None:
            raise InputError(f"early_stop: the run is scored by {self.scorer.metric}, which is unavailable "
                             f"({self.scorer.unavailable}); turn early_stop off for it")

    def score(self, trainer, record: dict) -> dict:
        """Score the trainer's G (the one `record` holds) unless its step was scored already (the
        stop step's snapshot), remember it, and return what the record keeps of it. G is scored as
        a copy in eval mode: the run itself is untouched."""
        if not trainer.scores or trainer.scores[-1][0] != trainer.step:
            value = self.scorer(copy.deepcopy(trainer.generator_for_eval()).eval(), record)
            trainer.scores.append((trainer.step, value))
        return {"value": trainer.scores[-1][1], "scorer": self.scorer.identity}

    def reason(self, trainer) -> str | None:
        return stop_reason([v for _, v in trainer.scores], **self.settings)


def evaluated_file(run: RunFiles, metrics: dict) -> Path:
    """The file of the G a run's metrics file says was evaluated: the last one, or the snapshot at its step."""
    last = metrics.get("last_step", metrics["step"]) == metrics["step"]
    return run.generator if last else run.snapshot(metrics["step"])


def evaluated_generator(run: RunFiles, metrics: dict) -> tuple[torch.nn.Module, dict]:
    return load_generator(run, evaluated_file(run, metrics))
