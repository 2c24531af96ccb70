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

Best checkpoint, not last: which saved G is evaluated is pipeline_src.selection's choice (every
saved G scored by its dataset's selection metric; `checkpoint: best` or `last`). The JSON records
which (`checkpoint`, `step`, `last_step`, the scores), and seed{seed}.steps.csv the score at every
saved step.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from pipeline_src import datasets
from pipeline_src.datasets.prepared import read_meta
from pipeline_src.devices import resolve_device
from pipeline_src.errors import InputError
from pipeline_src.features import EXTRACTORS, compare, open_extractor
from pipeline_src.features.reference import load_reference
from pipeline_src.io import atomic_write_json, load_json_file
from pipeline_src.metrics import is_number
from pipeline_src.metrics.toys import sliced_w1, toy_metrics
from pipeline_src.paths import RESULTS, RunFiles
from pipeline_src.selection import eval_seed, select_generator
from pipeline_src.stages.common import fingerprint, job_options, log
from pipeline_src.training import FAILURE_FLAGS, resolved_steps
from pipeline_src.training.generator import expected_record, generate, load_generator, rerun_hint, to_uint8
from pipeline_src.training.stopping import EARLY_REASONS, write_scores


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--variant", required=True, help="a key of `variants:` in params.yaml")
    parser.add_argument("--seed", required=True, type=int, help="one of train.seeds")


def image_metrics(g: torch.nn.Module, saved: dict, dataset: str, ev: dict, seed: int,
                  results: Path) -> tuple[dict, dict]:
    """Metrics of every extractor the reference stage prepared; {metric: reason} for the others.
    `ev`: the `evaluate` options."""
    arrays, summary = load_reference(dataset, results)
    device = resolve_device(ev["device"])
    fake = generate(g, saved, ev["n_samples"], eval_seed(ev, seed), ev["batch_size"], device)
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


def split_unavailable(metrics: dict, threshold: float) -> tuple[dict, dict]:
    """Metrics with a value, and {metric: reason} for those without one."""
    unavailable = {}
    if metrics.get("reverse_kl", 0) is None:
        del metrics["reverse_kl"]
        unavailable["reverse_kl"] = f"no generated point lies within {threshold:g} sigma of a mode"
    return metrics, unavailable


def evaluate(variant: str, seed: int, options: dict, results: Path = RESULTS) -> dict:
    """The metrics of one run; `options` are its job options (`evaluate`, the run's and its dataset's)."""
    run = RunFiles(variant, seed, results)
    ev, run_options, data_options = options["evaluate"], options["run"], options["dataset"]
    # a missing, broken or foreign generator fails before any output
    meta = read_meta(run_options["dataset"], results)
    _, last = load_generator(run, expected=expected_record(run_options, fingerprint(
        run_options, seed, meta["sha256"]["train.pt"])))
    steps = resolved_steps(run_options, meta["n"]["train"])
    if last["step"] != steps and not last.get("diverged") and last.get("stop_reason") not in EARLY_REASONS:
        raise InputError(f"{run.generator}: written at step {last['step']}, but the run has {steps} steps "
                         f"and neither diverged nor stopped early; {rerun_hint(run)}")
    g, saved, choice, trajectory = select_generator(run, options, seed, results)
    dataset = run_options["dataset"]  # what the G records too: load_generator checked it
    spec = datasets.spec_of(dataset, data_options)
    out: dict = {"variant": variant, "seed": seed, "dataset": dataset, "step": saved["step"]}
    unavailable: dict[str, str] = choice.pop("unavailable", {})
    out.update(choice)
    if spec.kind == "points":
        n = ev["toy_samples"]
        points = generate(g, saved, n, eval_seed(ev, seed)).double().numpy()
        threshold = ev["hq_threshold"]
        if np.isfinite(points).all():
            metrics, missing = split_unavailable(toy_metrics(spec, data_options, points, threshold), threshold)
            out.update(metrics)
            unavailable.update(missing)
            truth, _ = spec.sample(n, data_options, np.random.default_rng(eval_seed(ev, seed)))
            out["sliced_w1"] = sliced_w1(points, truth)  # a distance to the truth that moves with any change of G
        else:
            unavailable["toy_metrics"] = "the generator produced NaN/Inf"
        out["n_samples"] = n
    else:
        metrics, missing = image_metrics(g, saved, dataset, ev, seed, results)
        out.update(metrics)
        unavailable.update(missing)
        out["n_samples"] = ev["n_samples"]
    if run.diagnostics.is_file():
        diagnostics = load_json_file(run.diagnostics, f"rerun python -m pipeline_src train --variant {variant} --seed {seed}")
        for flag in FAILURE_FLAGS:
            value = diagnostics.get(flag)
            out[flag] = None if value is None else bool(value)
    out["unavailable"] = unavailable
    write_scores(run.steps_csv, choice.get("select_metric"), trajectory)
    atomic_write_json(run.metrics, out)
    shown = {k: v for k, v in out.items() if is_number(v)}
    log(f"evaluate {variant} seed {seed}: {shown}" + (f"; unavailable: {sorted(unavailable)}" if unavailable else ""))
    return out


def run(args: argparse.Namespace, params: dict) -> None:
    evaluate(args.variant, args.seed, job_options("evaluate", params, f"{args.variant}-{args.seed}"),
             Path(args.results))
