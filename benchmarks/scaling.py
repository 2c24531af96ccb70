"""Scaling: seconds per stage as the number of variants, seeds and generated samples grows
(1x, 4x, 16x). Each job runs as the drivers run it, `python -m pipeline_src <stage> ...`
in its own process, one after another, so the figures are per-job costs without
scheduling; `per_job_s` shows where the fixed cost of a process (interpreter,
imports) stops mattering.
"""

from __future__ import annotations

import copy
import sys
import tempfile
import time
from pathlib import Path

import yaml

from benchmarks.common import machine
from benchmarks.pipeline import REPO, sh, workspace

FACTORS = (1, 4, 16)


def base_params(quick: bool) -> dict:
    from pipeline_src.params import load_params

    p = load_params(REPO / "params.yaml")
    p["datasets"] = {"ring8": p["datasets"]["ring8"], "digits": p["datasets"]["digits"]}
    p["train"].update(seeds=[0], steps=50 if quick else 500, log_every=50, sample_every=500, checkpoint_every=500)
    p["classifier"].update(steps=50 if quick else 300)
    p["reference"].update(extractors=["classifier"], max_images=500)
    p["evaluate"].update(n_samples=250 if quick else 1000, toy_samples=2000)
    p["variants"] = {k: p["variants"][k] for k in ("ns_toy_ring8", "ns_mlp_digits")}
    p["report"]["comparisons"] = []
    return p


def cli(ws: Path, *args: str) -> float:
    return sh([sys.executable, "-m", "pipeline_src", *args], ws)


def sweep(ws: Path, params: dict, variants: list[str], seeds: list[int]) -> dict:
    (ws / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    jobs = [(v, s) for v in variants for s in seeds]
    train = sum(cli(ws, "train", "--variant", v, "--seed", str(s)) for v, s in jobs)
    evaluate = sum(cli(ws, "evaluate", "--variant", v, "--seed", str(s)) for v, s in jobs)
    report = cli(ws, "report")
    return {"jobs": len(jobs), "train_s": train, "evaluate_s": evaluate, "report_s": report,
            "train_per_job_s": train / len(jobs), "evaluate_per_job_s": evaluate / len(jobs)}


def run(args) -> dict:
    factors = FACTORS[:2] if args.quick else FACTORS
    params = base_params(args.quick)
    toy = params["variants"]["ns_toy_ring8"]
    out: dict = {"machine": machine("cpu"), "config": {"factors": list(factors), "train_steps": params["train"]["steps"],
                                                       "variant": "ns_toy_ring8 copies (lr_g varied)"}}
    with tempfile.TemporaryDirectory(prefix="bench-scaling-") as tmp:
        ws = workspace(Path(tmp), params)
        for dataset in params["datasets"]:
            for stage in ("download", "prepare", "classifier", "reference"):
                cli(ws, stage, "--dataset", dataset)

        out["variants"] = {}
        for k in factors:
            p = copy.deepcopy(params)
            p["variants"] = {f"toy{i}": {**toy, "lr_g": 2e-4 * (1 + i / 16)} for i in range(k)}
            out["variants"][str(k)] = sweep(ws, p, list(p["variants"]), [0])

        out["seeds"] = {}
        for k in factors:
            p = copy.deepcopy(params)
            p["variants"] = {"toy0": toy}
            p["train"]["seeds"] = list(range(k))
            out["seeds"][str(k)] = sweep(ws, p, ["toy0"], list(range(k)))

        out["samples"] = {}  # evaluate of one digits run: generation + classifier features + Fréchet distance
        p = copy.deepcopy(params)
        p["variants"] = {"digits": params["variants"]["ns_mlp_digits"]}
        (ws / "params.yaml").write_text(yaml.safe_dump(p, sort_keys=False))
        cli(ws, "train", "--variant", "digits", "--seed", "0")
        n0 = p["evaluate"]["n_samples"]
        for k in factors:
            p["evaluate"]["n_samples"] = n0 * k
            (ws / "params.yaml").write_text(yaml.safe_dump(p, sort_keys=False))
            start = time.perf_counter()
            cli(ws, "evaluate", "--variant", "digits", "--seed", "0")
            out["samples"][str(n0 * k)] = {"evaluate_s": time.perf_counter() - start}
    first, last = str(factors[0]), str(factors[-1])
    out["growth_16x" if last == "16" else f"growth_{last}x"] = {
        "train_variants": out["variants"][last]["train_s"] / out["variants"][first]["train_s"],
        "evaluate_variants": out["variants"][last]["evaluate_s"] / out["variants"][first]["evaluate_s"],
        "report_variants": out["variants"][last]["report_s"] / out["variants"][first]["report_s"],
        "evaluate_samples": out["samples"][str(n0 * int(last))]["evaluate_s"] / out["samples"][str(n0)]["evaluate_s"],
    }
    return out
