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
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from pipeline_src.errors import InputError
from pipeline_src.features import compare, open_extractor
from pipeline_src.io import atomic_write_json
from pipeline_src.metrics.images import EXTRACTOR_METRICS
from pipeline_src.metrics import is_number
from pipeline_src.metrics.toys import toy_metrics
from pipeline_src.paths import RESULTS, classifier_files, metrics_file, run_dir
from pipeline_src.stages.common import job_options, log, print_options, write_stamp
from pipeline_src.stages.reference import load_reference
from pipeline_src.training import FAILURE_FLAGS
from pipeline_src.training.generator import generate, load_generator, to_uint8
from pipeline_src.training.loop import resolve_device


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--variant", required=True, help="a key of `variants:` in params.yaml")
    parser.add_argument("--seed", required=True, type=int, help="one of train.seeds")


def image_metrics(g: torch.nn.Module, saved: dict, params: dict, seed: int, results: Path) -> tuple[dict, dict]:
    """Metrics of every extractor the reference stage prepared; {metric: reason} for the others."""
    dataset = saved["dataset"]
    arrays, summary = load_reference(dataset, results)
    ev = params["evaluate"]
    device = resolve_device(ev["device"])
    torch.set_num_threads(ev["cpu_threads"])
    fake = generate(g, saved, ev["n_samples"], eval_seed(params, seed), ev["batch_size"], device)
    metrics: dict = {}
    unavailable: dict[str, str] = {}
    if not torch.isfinite(fake).all():
        reason = "the generator produced NaN/Inf"
        return {}, {m: reason for names in EXTRACTOR_METRICS.values() for m in names}
    images = to_uint8(fake)
    for name, names in EXTRACTOR_METRICS.items():
        info = summary["extractors"].get(name)
        if info is None:
            reason = summary["unavailable"].get(name, f"{name} is not in reference.extractors")
            unavailable.update({m: reason for m in names})
            continue
        extractor = open_extractor(name, classifier_path=classifier_files(dataset, results)["weights"],
                                   inception_weights=Path(info["weights"]), batch_size=ev["batch_size"],
                                   device=device)
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


def split_unavailable(metrics: dict, threshold: float) -> tuple[dict, dict]:
    """Metrics with a value, and {metric: reason} for those without one."""
    unavailable = {}
    if metrics.get("reverse_kl", 0) is None:
        del metrics["reverse_kl"]
        unavailable["reverse_kl"] = f"no generated point lies within {threshold:g} sigma of a mode"
    return metrics, unavailable


def evaluate(variant: str, seed: int, params: dict, results: Path = RESULTS) -> dict:
    folder = run_dir(variant, seed, results)
    g, saved = load_generator(folder)
    options = job_options("evaluate", params, f"{variant}-{seed}")
    write_stamp("evaluate", f"{variant}-{seed}", options, results)  # before any output
    dataset = saved["dataset"]
    out: dict = {"variant": variant, "seed": seed, "dataset": dataset, "step": saved["step"]}
    unavailable: dict[str, str] = {}
    if saved["kind"] == "points":
        n = params["evaluate"]["toy_samples"]
        points = generate(g, saved, n, eval_seed(params, seed)).double().numpy()
        threshold = params["evaluate"]["hq_threshold"]
        if np.isfinite(points).all():
            metrics, missing = split_unavailable(toy_metrics(dataset, params["datasets"][dataset], points, threshold),
                                                 threshold)
            out.update(metrics)
            unavailable.update(missing)
        else:
            unavailable["toy_metrics"] = "the generator produced NaN/Inf"
        out["n_samples"] = n
    else:
        metrics, missing = image_metrics(g, saved, params, seed, results)
        out.update(metrics)
        unavailable.update(missing)
        out["n_samples"] = params["evaluate"]["n_samples"]
    diagnostics_path = folder / "diagnostics.json"
    if diagnostics_path.is_file():
        diagnostics = json.loads(diagnostics_path.read_text())
        for flag in FAILURE_FLAGS:
            value = diagnostics.get(flag)
            out[flag] = None if value is None else bool(value)
    out["unavailable"] = unavailable
    atomic_write_json(metrics_file(variant, seed, results), out)
    shown = {k: v for k, v in out.items() if is_number(v)}
    log(f"evaluate {variant} seed {seed}: {shown}" + (f"; unavailable: {sorted(unavailable)}" if unavailable else ""))
    return out


def run(args: argparse.Namespace, params: dict) -> None:
    print_options("evaluate", {"variant": args.variant, "seed": args.seed,
                               "options": job_options("evaluate", params, f"{args.variant}-{args.seed}")})
    evaluate(args.variant, args.seed, params, Path(args.results))
