"""Stage `evaluate`: one (variant, seed) -> results/metrics/{variant}/seed{seed}.json.

One flat JSON per run: one key per metric, `n_samples`, the run's failure
flags from diagnostics.json, and `unavailable: {metric: reason}` for every
metric that could not be computed. Nothing is ever filled in with a made-up
value. This increment computes the toy metrics (ring8, grid25: VEEGAN/PacGAN
mode coverage; gauss1d: moments, KS, W1) and, for images, the metrics of
every extractor the `reference` stage prepared: FD_classifier and class
coverage in the dataset classifier's space; FID, KID, Inception Score and
precision/recall from one pass of Inception features. The generated images
go through each extractor once and every metric of that extractor shares the
features.

Best checkpoint, not last: every saved G of the run (train.snapshot_every, and
the last) is scored on `select_samples` samples of its own z stream, by
FD_classifier for images, by the Jensen-Shannon divergence of the mode
histograms for mixtures and by the sliced Wasserstein-1 distance to the true
distribution for gauss1d (pipeline_src.metrics.toys); `checkpoint: best` evaluates the lowest-scoring one,
`last` the last. The JSON records which (`checkpoint`, `step`, `last_step`,
the scores), and seed{seed}.steps.csv the score at every saved step.
"""

from __future__ import annotations

import argparse
import io
import math
from pathlib import Path

import numpy as np
import torch

from pipeline_src.errors import InputError
from pipeline_src.features import EXTRACTORS, compare, open_extractor
from pipeline_src import datasets
from pipeline_src.devices import gpu_for_this_process, resolve_device
from pipeline_src.datasets.prepared import read_meta
from pipeline_src.io import atomic_write_bytes, atomic_write_json, load_json_file
from pipeline_src.metrics import is_number
from pipeline_src.metrics.toys import mode_js, sliced_w1, toy_metrics
from pipeline_src.paths import RESULTS, RunFiles, snapshot_step
from pipeline_src.stages.common import fingerprint, job_options, log, print_options, variant_options, write_stamp
from pipeline_src.features.reference import load_reference
from pipeline_src.training import FAILURE_FLAGS, resolved_steps
from pipeline_src.training.generator import expected_record, generate, load_generator, rerun_hint, to_uint8


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--variant", required=True, help="a key of `variants:` in params.yaml")
    parser.add_argument("--seed", required=True, type=int, help="one of train.seeds")


def image_metrics(g: torch.nn.Module, saved: dict, params: dict, seed: int, results: Path) -> tuple[dict, dict]:
    """Metrics of every extractor the reference stage prepared; {metric: reason} for the others."""
    dataset = saved["dataset"]
    arrays, summary = load_reference(dataset, results)
    ev = params["evaluate"]
    device = resolve_device(ev["device"])
    fake = generate(g, saved, ev["n_samples"], eval_seed(params, seed), ev["batch_size"], device)
    metrics: dict = {}
    unavailable: dict[str, str] = {}
    if not torch.isfinite(fake).all():
        reason = "the generator produced NaN/Inf"
        return {}, {m: reason for kind in EXTRACTORS.values() for m in kind.metrics}
    images = to_uint8(fake)
    for name, kind in EXTRACTORS.items():
        info = summary["extractors"].get(name)
        if info is None:
            reason = summary["unavailable"].get(name, f"{name} is not in reference.extractors")
            unavailable.update({m: reason for m in kind.metrics})
            continue
        extractor = open_extractor(name, Path(info["weights"]), ev["batch_size"], device)  # what reference used
        if extractor.identity["weights_sha256"] != info["cache_key"]["weights_sha256"]:
            raise InputError(f"{extractor.weights_path}: sha256 differs from the one the reference statistics of "
                             f"{dataset} were computed with; rerun the reference stage for {dataset}")
        metrics.update(compare(name, extractor(images), arrays[name]))
        metrics[f"{name}_id"] = extractor_id(extractor)
    return metrics, unavailable


def extractor_id(extractor) -> str:
    """Which features a run's numbers come from: name, weights sha256 prefix, resize."""
    parts = [extractor.name, extractor.identity["weights_sha256"][:12], extractor.identity.get("resize")]
    return ":".join(p for p in parts if p)


def eval_seed(params: dict, seed: int) -> int:
    return 1_000_003 * params["evaluate"]["seed"] + seed


class Scorer:
    """The score that ranks a run's saved generators (lower is better), on a z stream of
    its own: the dataset's `selection` (FD_classifier for images, mode_js for mixtures, sliced W1 to the
    truth for a single Gaussian)."""

    def __init__(self, saved: dict, params: dict, seed: int, results: Path):
        ev = params["evaluate"]
        self.n, self.batch_size = ev["select_samples"], ev["batch_size"]
        self.z_seed = eval_seed(params, seed) + 500_009  # apart from the final evaluation's samples
        self.device = resolve_device(ev["device"])
        self.unavailable = None
        dataset = saved["dataset"]
        options = params["datasets"][dataset]
        spec = datasets.spec_of(dataset, options)
        self.metric = spec.selection
        if self.metric == "sliced_w1":
            self.real, _ = spec.sample(self.n, options, np.random.default_rng(self.z_seed))
            return
        if self.metric == "mode_js":
            self.centres, self.sigma = spec.modes(options)
            self.threshold = params["evaluate"]["hq_threshold"]
            return
        arrays, summary = load_reference(dataset, results)
        if "classifier" not in summary["extractors"]:
            self.unavailable = summary["unavailable"].get("classifier", "classifier is not in reference.extractors")
            return
        self.reference = arrays["classifier"]
        self.extractor = open_extractor("classifier", Path(summary["extractors"]["classifier"]["weights"]),
                                        ev["batch_size"], self.device)

    def __call__(self, g: torch.nn.Module, saved: dict) -> float:
        x = generate(g, saved, self.n, self.z_seed, self.batch_size, self.device)
        if not torch.isfinite(x).all():
            return math.inf
        if self.metric == "mode_js":
            return mode_js(x.double().numpy(), self.centres, self.sigma, self.threshold)
        if self.metric == "sliced_w1":
            return sliced_w1(x.double().numpy(), self.real)
        return compare("classifier", self.extractor(to_uint8(x)), self.reference)["fd_classifier"]


def select_generator(run: RunFiles, params: dict, seed: int, results: Path) -> tuple[torch.nn.Module, dict, dict, list]:
    """(G, its record, what the metrics JSON says about the choice, [(step, score)] of every saved G)."""
    g, saved = load_generator(run)  # the last
    choice = {"checkpoint": "last", "last_step": saved["step"]}
    scorer = Scorer(saved, params, seed, results)
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
    if params["evaluate"]["checkpoint"] == "best" and best[2] is not None:
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


def split_unavailable(metrics: dict, threshold: float) -> tuple[dict, dict]:
    """Metrics with a value, and {metric: reason} for those without one."""
    unavailable = {}
    if metrics.get("reverse_kl", 0) is None:
        del metrics["reverse_kl"]
        unavailable["reverse_kl"] = f"no generated point lies within {threshold:g} sigma of a mode"
    return metrics, unavailable


def evaluate(variant: str, seed: int, params: dict, results: Path = RESULTS) -> dict:
    run = RunFiles(variant, seed, results)
    # a missing, broken or foreign generator fails before any output
    run_options = variant_options(params, variant)
    meta = read_meta(run_options["dataset"], results)
    _, last = load_generator(run, expected=expected_record(run_options, fingerprint(
        run_options, seed, meta["sha256"]["train.pt"])))
    steps = resolved_steps(run_options, meta["n"]["train"])
    if last["step"] != steps and not last.get("diverged"):
        raise InputError(f"{run.generator}: written at step {last['step']}, but the run has {steps} steps "
                         f"and did not diverge; {rerun_hint(run)}")
    options = job_options("evaluate", params, f"{variant}-{seed}")
    write_stamp("evaluate", f"{variant}-{seed}", options, results)  # before any output
    torch.set_num_threads(params["evaluate"]["cpu_threads"])
    g, saved, choice, trajectory = select_generator(run, params, seed, results)
    dataset = saved["dataset"]
    out: dict = {"variant": variant, "seed": seed, "dataset": dataset, "step": saved["step"]}
    unavailable: dict[str, str] = choice.pop("unavailable", {})
    out.update(choice)
    if saved["kind"] == "points":
        n = params["evaluate"]["toy_samples"]
        points = generate(g, saved, n, eval_seed(params, seed)).double().numpy()
        threshold = params["evaluate"]["hq_threshold"]
        if np.isfinite(points).all():
            options = params["datasets"][dataset]
            spec = datasets.spec_of(dataset, options)
            metrics, missing = split_unavailable(toy_metrics(spec, options, points, threshold), threshold)
            out.update(metrics)
            unavailable.update(missing)
            truth, _ = spec.sample(n, options, np.random.default_rng(eval_seed(params, seed)))
            out["sliced_w1"] = sliced_w1(points, truth)  # a distance to the truth that moves with any change of G
        else:
            unavailable["toy_metrics"] = "the generator produced NaN/Inf"
        out["n_samples"] = n
    else:
        metrics, missing = image_metrics(g, saved, params, seed, results)
        out.update(metrics)
        unavailable.update(missing)
        out["n_samples"] = params["evaluate"]["n_samples"]
    if run.diagnostics.is_file():
        diagnostics = load_json_file(run.diagnostics, f"rerun python -m pipeline_src train --variant {variant} --seed {seed}")
        for flag in FAILURE_FLAGS:
            value = diagnostics.get(flag)
            out[flag] = None if value is None else bool(value)
    out["unavailable"] = unavailable
    write_trajectory(run.steps_csv, choice.get("select_metric"), trajectory)
    atomic_write_json(run.metrics, out)
    shown = {k: v for k, v in out.items() if is_number(v)}
    log(f"evaluate {variant} seed {seed}: {shown}" + (f"; unavailable: {sorted(unavailable)}" if unavailable else ""))
    return out


def run(args: argparse.Namespace, params: dict) -> None:
    options = job_options("evaluate", params, f"{args.variant}-{args.seed}")
    print_options("evaluate", {"variant": args.variant, "seed": args.seed, "options": options})
    dataset = variant_options(params, args.variant)["dataset"]
    on_images = datasets.spec_of(dataset, options["dataset"]).kind == "image"  # the jobs the rule gives a GPU
    with gpu_for_this_process(params["evaluate"]["device"] if on_images else "cpu"):  # before CUDA starts
        evaluate(args.variant, args.seed, params, Path(args.results))
