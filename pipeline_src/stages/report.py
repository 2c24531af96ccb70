"""Stage `report`: every run's metrics -> results/report/summary.csv, summary.md, comparisons.csv.

Reads the metrics file of every (variant, seed) in params.yaml and the
real-vs-real baseline of every dataset the variants use; tables come from
pipeline_src.report.tables (pure functions of those files).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pipeline_src.errors import InputError
from pipeline_src.io import atomic_write_bytes
from pipeline_src.paths import RESULTS, metrics_file, reference_files, report_files
from pipeline_src.report.tables import baseline_rows, paired_comparisons, summarise, to_markdown
from pipeline_src.stages.common import job_options, log, print_options, variant_options, write_stamp


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def read_json(path: Path, stage: str) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: missing; run the {stage} stage first") from None
    except ValueError as e:
        raise InputError(f"{path}: not valid JSON ({e}); delete it and rerun {stage}") from None


def build(params: dict, results: Path = RESULTS) -> dict:
    options = job_options("report", params, "all")
    write_stamp("report", "all", options, results)  # before any output
    variants = {v: variant_options(params, v) for v in params["variants"]}
    runs = [read_json(metrics_file(v, s, results), "evaluate") for v in variants for s in params["train"]["seeds"]]
    used = dict.fromkeys(o["dataset"] for o in variants.values())
    references = {d: read_json(reference_files(d, results)["summary"], "reference") for d in used}
    level = params["report"]["ci_level"]
    summary = summarise(runs, variants, level)
    baseline = baseline_rows(references)
    comparisons = paired_comparisons(runs, [tuple(p) for p in params["report"]["comparisons"]], level)
    files = report_files(results)
    atomic_write_bytes(files["csv"], summary.to_csv(index=False, float_format="%.6g").encode())
    atomic_write_bytes(files["comparisons"], comparisons.to_csv(index=False, float_format="%.6g").encode())
    atomic_write_bytes(files["md"], to_markdown(summary, baseline, comparisons, level).encode())
    log(f"report: {len(variants)} variants, {len(runs)} runs -> {files['md'].parent}")
    return {"summary": summary, "baseline": baseline, "comparisons": comparisons}


def run(args: argparse.Namespace, params: dict) -> None:
    print_options("report", {"options": job_options("report", params, "all")})
    build(params, Path(args.results))
