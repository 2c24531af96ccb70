"""Stage `evaluate`: one (variant, seed) -> results/metrics/{variant}/seed{seed}.json.

One flat JSON per run: one key per metric, `n_samples`, the run's failure
flags from diagnostics.json, and `unavailable: {metric: reason}` for every
metric that could not be computed. Nothing is ever filled in with a made-up
value. This increment computes the toy metrics (ring8, grid25: VEEGAN/PacGAN
mode coverage; gauss1d: moments, KS, W1); the image metrics (FD in a domain
classifier's features, class coverage, Inception FID/KID/IS) are recorded as
unavailable until their stages land.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from pipeline_src.datasets import toys as toy_data
from pipeline_src.errors import InputError
from pipeline_src.io import atomic_write_json
from pipeline_src.metrics.toys import gaussian_metrics, mode_metrics
from pipeline_src.paths import RESULTS, metrics_file, run_dir
from pipeline_src.stages.common import job_options, log, print_options, write_stamp
from pipeline_src.training.loop import sample_latent
from pipeline_src.training.networks import build_networks

IMAGE_METRICS_PENDING = {
    "fd_classifier": "the classifier stage (domain features) is not implemented yet",
    "class_coverage": "the classifier stage (domain features) is not implemented yet",
    "fid": "Inception features are not implemented yet",
    "kid": "Inception features are not implemented yet",
    "inception_score": "Inception features are not implemented yet",
}
DIAGNOSTIC_FLAGS = ("diverged", "saturated", "oscillating", "mode_collapse")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--variant", required=True, help="a key of `variants:` in params.yaml")
    parser.add_argument("--seed", required=True, type=int, help="one of train.seeds")


def load_generator(folder: Path) -> tuple[torch.nn.Module, dict]:
    path = folder / "generator.pt"
    if not path.is_file():
        raise InputError(f"{path}: missing; run the train stage for this run first")
    try:
        saved = torch.load(path, weights_only=True)
        g, _ = build_networks(saved["model"], tuple(saved["shape"]), saved["options"])
        g.load_state_dict(saved["state_dict"])
    except (RuntimeError, KeyError, EOFError, ValueError) as e:
        raise InputError(f"{path}: cannot be loaded ({e.__class__.__name__}: {e}); rerun train") from None
    return g.eval(), saved


@torch.no_grad()
def generate(g: torch.nn.Module, saved: dict, n: int, seed: int) -> np.ndarray:
    z = sample_latent(n, saved["options"]["z_dim"], saved["options"]["noise"], torch.Generator().manual_seed(seed))
    return g(z).double().numpy()


def toy_metrics(dataset: str, options: dict, points: np.ndarray, threshold: float) -> dict:
    if dataset == "gauss1d":
        return gaussian_metrics(points, options["mean"], options["std"])
    centres = (toy_data.ring8_centres(options["radius"]) if dataset == "ring8"
               else toy_data.grid25_centres(options["spacing"]))
    metrics = mode_metrics(points, centres, options["sigma"], threshold)
    metrics.pop("mode_counts")  # a list: the metrics file stays flat
    return metrics


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
        points = generate(g, saved, n, seed=1_000_003 * params["evaluate"]["seed"] + seed)
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
        unavailable.update(IMAGE_METRICS_PENDING)
        out["n_samples"] = 0
    diagnostics_path = folder / "diagnostics.json"
    if diagnostics_path.is_file():
        diagnostics = json.loads(diagnostics_path.read_text())
        for flag in DIAGNOSTIC_FLAGS:
            value = diagnostics.get(flag)
            out[flag] = None if value is None else bool(value)
    out["unavailable"] = unavailable
    atomic_write_json(metrics_file(variant, seed, results), out)
    shown = {k: v for k, v in out.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    log(f"evaluate {variant} seed {seed}: {shown}" + (f"; unavailable: {sorted(unavailable)}" if unavailable else ""))
    return out


def run(args: argparse.Namespace, params: dict) -> None:
    print_options("evaluate", {"variant": args.variant, "seed": args.seed,
                               "options": job_options("evaluate", params, f"{args.variant}-{args.seed}")})
    evaluate(args.variant, args.seed, params, Path(args.results))
