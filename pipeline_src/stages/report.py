"""Stage `report`: the whole sweep -> results/report/.

Writes summary.csv, summary.md, comparisons.csv (tables), figures/*.png + *.svg
(seaborn/matplotlib) and index.html (one self-contained page: tables, figures,
diagnostics, provenance). Reads every run's metrics file, its steps CSV
(the selection score of every saved G), log.csv and diagnostics.json, each
dataset's reference.json (the real-vs-real baseline), the test split of each
dataset, the first seed's evaluated generator of each variant (the sample
figures: the same saved G the metrics come from) and, for each compared pair on
images, both sides' earliest shared snapshot (the early-samples figure). Tables come from pipeline_src.report.tables, figures from
pipeline_src.report.figures: pure functions of what is read here.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline_src import datasets
from pipeline_src.errors import InputError
from pipeline_src.io import atomic_dir, atomic_write_bytes, bytes_digest, load_json_file, to_json
from pipeline_src.paths import RESULTS, RunFiles, reference_files, report_files
from pipeline_src.report import figures as plots
from pipeline_src.report.findings import findings_tables
from pipeline_src.report.html import Figure, Headline, render
from pipeline_src.report.tables import (baseline_rows, best_variants, diagnostics_table, flag_counts,
                                        paired_comparisons, report_tables, stopping_table, summarise, summary_metrics,
                                        to_markdown)
from pipeline_src.stages.common import dataset_options, log, variant_options
from pipeline_src.training import early_stop_on

N_IMAGES = 64  # images per panel of a sample figure (an 8 x 8 grid)
N_POINTS = 2000  # points per panel of a toy sample figure
SAMPLE_SEED = 0  # the z of the sample figures: the same for every variant
LOG_COLUMNS = ("step", "loss_d", "loss_g", "d_real", "d_fake", "d_heldout")
VERSIONS = ("torch", "torchvision", "numpy", "scipy", "pandas", "matplotlib", "seaborn", "torch-fidelity",
            "snakemake", "dvc")

CAPTIONS = {
    "losses": "Loss of D and G against the generator step, per variant: the mean over seeds with a band of "
              "its confidence interval. Losses in nats for the BCE objectives (minimax, non-saturating).",
    "discriminator": "Mean D(x) on real training batches, on a fixed held-out batch of the test split (dash-dot) "
                     "and D(G(z)) on generated batches against the step. At the equilibrium of Goodfellow et al. "
                     "(2014) all are 1/2 (dotted line); D(G(z)) near 0 with a vanishing G gradient is the "
                     "saturation of the minimax objective; D(x) pulling away from the held-out line is D "
                     "memorising its training data (flag d_overfit).",
    "metrics": "Every metric with a value: mean over seeds with its confidence interval per variant; grey "
               "diamonds: the same metric between two real splits (the floor a perfect generator reaches).",
    "diagnostics": "Failure modes flagged per variant: seeds flagged / seeds where the check applies "
                   "(n/a: it does not apply to that loss or no seed could be checked).",
    "selection": "The score that picks the evaluated generator (FD_classifier for images; for 2-D mixtures the "
                 "Jensen-Shannon divergence of the histograms over the modes and an off-mode bin; for gauss1d the "
                 "sliced Wasserstein-1 distance to the true distribution; lower is better) of every saved G against its step: mean "
                 "over seeds with a band of its confidence interval; markers: the G each seed's metrics come from.",
    "early": "Both sides of each compared pair at the earliest snapshot step they share (first seed, the same "
             "fixed z as the sample figures): a generator that starts saturated or collapsed draws one pattern "
             "here while the other side already draws the data.",
    "samples": "Real test images or points beside samples of each variant's first seed (the evaluated G), all "
               "drawn from one fixed z. Toys: circles mark the true modes with the high-quality radius; gauss1d: the target "
               "density N(mean, std) over the histogram.",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def read_json(path: Path, stage: str) -> dict:
    return load_json_file(path, f"rerun the {stage} stage")


def read_log(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path)
    except FileNotFoundError:
        raise InputError(f"{path}: missing; run the train stage first") from None
    except (ValueError, pd.errors.ParserError) as e:
        raise InputError(f"{path}: not a readable CSV ({e}); rerun train") from None
    missing = [c for c in LOG_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"{path}: no column {', '.join(missing)}; rerun train")
    return frame


def read_steps(path: Path) -> pd.DataFrame:
    """A run's steps CSV as (step, score, metric)."""
    try:
        frame = pd.read_csv(path)
    except FileNotFoundError:
        raise InputError(f"{path}: missing; run the evaluate stage first") from None
    except (ValueError, pd.errors.ParserError) as e:
        raise InputError(f"{path}: not a readable CSV ({e}); rerun evaluate") from None
    if len(frame.columns) != 2 or frame.columns[0] != "step":
        raise InputError(f"{path}: expected the columns step,<score>; rerun evaluate")
    return frame.rename(columns={frame.columns[1]: "score"}).assign(metric=frame.columns[1])


def sample_sets(params: dict, variants: dict[str, dict], runs: dict[str, dict], results: Path) -> dict[str, dict]:
    """Per dataset: kind, real test samples and each variant's samples (fixed z) from the
    G its first seed's metrics come from (`runs`: variant -> that metrics record)."""
    from pipeline_src.datasets.prepared import load_prepared
    from pipeline_src.selection import evaluated_generator
    from pipeline_src.training.generator import generate, to_uint8

    out: dict[str, dict] = {}
    for dataset in dict.fromkeys(o["dataset"] for o in variants.values()):
        x, _, meta = load_prepared(dataset, results, "test")
        n = N_IMAGES if meta["kind"] == "image" else N_POINTS
        pick = np.random.default_rng(SAMPLE_SEED).choice(len(x), size=min(n, len(x)), replace=False)
        generated = {}
        for variant in (v for v, o in variants.items() if o["dataset"] == dataset):
            g, saved = evaluated_generator(RunFiles(variant, runs[variant]["seed"], results), runs[variant])
            fake = generate(g, saved, n, SAMPLE_SEED)
            generated[variant] = (to_uint8(fake) if meta["kind"] == "image" else fake.double()).numpy()
        out[dataset] = {"kind": meta["kind"], "real": x[np.sort(pick)].numpy(), "generated": generated}
    return out


def early_sample_sets(params: dict, variants: dict[str, dict], samples: dict[str, dict], results: Path) -> dict[str, dict]:
    """Per image dataset with a compared pair: both sides' G at the earliest snapshot step they share
    (first seed, the same fixed z as the sample figures). This is where a saturating loss shows:
    one pattern while the other side already draws the data. A pair without a shared snapshot
    step is left out (a panel of one side alone would compare nothing)."""
    from pipeline_src.training.generator import generate, load_generator, to_uint8

    seed = params["train"]["seeds"][0]
    out: dict[str, dict] = {}
    for pair in params["report"]["comparisons"]:
        dataset = variants[pair[0]]["dataset"]
        if variants[pair[1]]["dataset"] != dataset or samples[dataset]["kind"] != "image":
            continue
        files = {v: RunFiles(v, seed, results) for v in pair}
        snapshots = {v: {p.stem: p for p in files[v].saved_generators() if p != files[v].generator} for v in pair}
        shared = [stem for stem in snapshots[pair[0]] if stem in snapshots[pair[1]]]  # in step order
        if not shared:
            continue
        early = out.setdefault(dataset, {"kind": "image", "real": samples[dataset]["real"], "generated": {}})
        for variant in pair:
            g, saved = load_generator(files[variant], snapshots[variant][shared[0]])
            early["generated"][f"{variant}, step {saved['step']}"] = to_uint8(
                generate(g, saved, N_IMAGES, SAMPLE_SEED)).numpy()
    return out


def toy_truth(params: dict, dataset: str) -> dict:
    """What the sample figures draw under a point dataset's samples: its modes or its density."""
    options = dataset_options(params, dataset)
    spec = datasets.spec_of(dataset, options)
    truth = {"hq_sigmas": params["evaluate"]["hq_threshold"]}
    if spec.modes is not None:
        truth["centres"], truth["sigma"] = spec.modes(options)
    if spec.gaussian is not None:
        truth["mean"], truth["std"] = spec.gaussian(options)
    return truth


def provenance(params: dict, run_options: list[dict]) -> dict[str, str]:
    """Git commit, params hash, library versions, and the devices and torch builds that trained.
    No clock time: the same inputs give the same page, whichever driver ran the stage."""
    def git(*args: str) -> str | None:
        try:
            proc = subprocess.run(["git", *args], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return proc.stdout.strip() if proc.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        commit = "unknown (not a git repository, or no commit yet)"
    elif git("status", "--porcelain", "--untracked-files=no"):
        commit += " (with uncommitted changes)"
    out = {
        "git commit": commit,
        "params sha256 (canonical JSON)": bytes_digest(to_json(params).encode()),
        "python": f"{platform.python_version()} on {platform.platform()}",
    }
    for name in VERSIONS:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    out["training devices"] = "; ".join(sorted({o.get("device", "unknown") for o in run_options}))
    builds = sorted({f"torch {o['versions'].get('torch')}, CUDA {o['versions'].get('cuda')}"
                     for o in run_options if "versions" in o})
    out["training torch builds"] = "; ".join(builds) or "unknown"
    return out


def headlines(runs: list[dict], samples: dict[str, dict]) -> list[Headline]:
    """The top of the page: each dataset's best variant by its selection score, with 16 of its samples
    (the sample figure's, the same z) or its points over the real ones."""
    import torch

    from pipeline_src.datasets.prepared import to_unit_range
    from pipeline_src.training.samples import image_grid_png, points_png

    out = []
    for best in best_variants(runs):
        s = samples[best["dataset"]]
        fake = s["generated"][best["variant"]]
        text = (f"{best['dataset']}: {best['variant']}, the lowest selection score of {best['of']} "
                f"variant{'s' if best['of'] > 1 else ''} ({best['metric']} of the evaluated G on {best['samples']} "
                f"samples: {best['score']:.4g}, mean over {best['seeds']} seeds)")
        if s["kind"] == "image":
            png = image_grid_png(to_unit_range(torch.from_numpy(fake[:16])), nrow=4)
        else:
            png = points_png(fake, s["real"], f"{best['variant']} ({best['dataset']})")
        out.append(Headline(text, png))
    return out


def draw_figures(folder: Path, params: dict, variants: dict[str, dict], logs: pd.DataFrame, steps: pd.DataFrame,
                 summary: pd.DataFrame, baseline: pd.DataFrame, runs: list[dict], samples: dict[str, dict],
                 early: dict[str, dict], level: float) -> list[Figure]:
    """Every figure as PNG + SVG in `folder`; the entries of the HTML page, in page order."""
    plots.use_style()
    colours = plots.variant_colours(list(variants))
    losses = {v: o["loss"] for v, o in variants.items()}
    metrics = [m for m in summary_metrics(summary) if m in summary and summary[m].notna().any()]
    made = [("losses", "Training losses", plots.loss_curves(logs, losses, level), CAPTIONS["losses"]),
            ("discriminator", "Discriminator outputs", plots.discriminator_outputs(logs, losses, level),
             CAPTIONS["discriminator"])]
    if metrics:
        made.append(("metrics", "Metrics with confidence intervals",
                     plots.metric_intervals(summary, baseline, metrics, colours), CAPTIONS["metrics"]))
    if len(steps):
        chosen = pd.DataFrame([{"variant": r["variant"], "seed": r["seed"], "step": r["step"]} for r in runs])
        made.append(("selection", "Selection score over training",
                     plots.selection_curves(steps, chosen, {v: o["dataset"] for v, o in variants.items()},
                                            colours, level), CAPTIONS["selection"]))
    for dataset, s in samples.items():
        truth = toy_truth(params, dataset) if s["kind"] == "points" else {}
        made.append((f"samples_{dataset}", f"Samples: {dataset}",
                     plots.sample_panels(dataset, s["kind"], s["real"], s["generated"], colours, truth),
                     CAPTIONS["samples"]))
    for dataset, s in early.items():
        labels = {label: colours[label.split(",")[0]] for label in s["generated"]}
        made.append((f"samples_early_{dataset}", f"Early samples: {dataset}",
                     plots.sample_panels(dataset, s["kind"], s["real"], s["generated"], labels, {}),
                     CAPTIONS["early"]))
    made.append(("diagnostics", "Diagnostics", plots.diagnostics_heatmap(flag_counts(runs, list(variants))),
                 CAPTIONS["diagnostics"]))
    entries = []
    for name, title, fig, caption in made:
        written = plots.save(fig, folder, name)
        entries.append(Figure(name, title, caption, written["png"], f"figures/{name}.svg"))
    return entries


def build(params: dict, results: Path = RESULTS) -> dict:
    variants = {v: variant_options(params, v) for v in params["variants"]}
    seeds = params["train"]["seeds"]
    keys = [(v, s) for v in variants for s in seeds]
    files = {(v, s): RunFiles(v, s, results) for v, s in keys}
    runs = [read_json(files[k].metrics, "evaluate") for k in keys]
    diagnostics = {k: read_json(files[k].diagnostics, "train") for k in keys}
    run_options = [read_json(files[k].options, "train") for k in keys]
    logs = pd.concat([read_log(files[v, s].log_csv).assign(variant=v, seed=s) for v, s in keys],
                     ignore_index=True)
    steps = pd.concat([read_steps(files[v, s].steps_csv).assign(variant=v, seed=s)
                       for v, s in keys], ignore_index=True)
    used = dict.fromkeys(o["dataset"] for o in variants.values())
    references = {d: read_json(reference_files(d, results)["summary"], "reference") for d in used}
    samples = sample_sets(params, variants, {r["variant"]: r for r in runs if r["seed"] == seeds[0]}, results)
    early = early_sample_sets(params, variants, samples, results)
    level = params["report"]["ci_level"]
    summary = summarise(runs, variants, level)
    baseline = baseline_rows(references)
    comparisons = paired_comparisons(runs, [tuple(p) for p in params["report"]["comparisons"]], level)
    tables = report_tables(summary, baseline, comparisons, level)
    if any(early_stop_on(o["early_stop"]) for o in variants.values()):
        tables.append(stopping_table(diagnostics, {k: o["options"]["steps"] for k, o in zip(keys, run_options)}))
    findings = findings_tables(runs, variants, diagnostics, {d: dataset_options(params, d) for d in used},
                               [tuple(p) for p in params["report"]["comparisons"]])

    files = report_files(results)
    with atomic_dir(files["figures"]) as folder:
        figures = draw_figures(folder, params, variants, logs, steps, summary, baseline, runs, samples, early, level)
    page = render("GAN ablation report", tables, figures, diagnostics_table(diagnostics),
                  provenance(params, run_options), findings, headlines(runs, samples))
    atomic_write_bytes(files["csv"], summary.to_csv(index=False, float_format="%.6g").encode())
    atomic_write_bytes(files["comparisons"], comparisons.to_csv(index=False, float_format="%.6g").encode())
    atomic_write_bytes(files["md"], (to_markdown(tables) + ("\n## Findings beside the literature\n\n"
                                                            + to_markdown(findings) if findings else "")).encode())
    atomic_write_bytes(files["html"], page.encode())
    log(f"report: {len(variants)} variants, {len(runs)} runs, {len(figures)} figures -> {files['html']}")
    return {"summary": summary, "baseline": baseline, "comparisons": comparisons, "figures": figures,
            "findings": findings}


def run(args: argparse.Namespace, params: dict) -> None:
    build(params, Path(args.results))
