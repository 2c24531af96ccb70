"""Stage `weights`: the pinned Inception FID weights, fetched once where the network is.

Both drivers run it before any reference job that needs the weights; Snakemake runs it on
the machine that submits the jobs (a local rule), since the compute nodes of most clusters
have no outbound network. It finds the weights as params.yaml says (`reference.inception`:
a local path, torch hub's cache, a download from `url` into that cache; each checked by
sha256) and records in results/weights/inception.json the file, or why there is none.
Reference jobs read that record and never use the network.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline_src.features.inception import WeightsUnavailable, resolve_weights
from pipeline_src.io import atomic_write_json
from pipeline_src.paths import RESULTS, weights_record
from pipeline_src.stages import ONE_JOB
from pipeline_src.stages.common import job_options, log

def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def build(params: dict, results: Path = RESULTS) -> dict:
    options = job_options("weights", params, ONE_JOB)
    if not options["needed"]:
        record = {"available": False, "reason": "no image dataset, or reference.extractors does not list inception"}
    else:
        try:
            path = resolve_weights(options["inception"])
        except WeightsUnavailable as e:
            record = {"available": False, "reason": str(e)}
        else:
            record = {"available": True, "path": str(path.resolve()), "sha256": options["inception"]["sha256"]}
    atomic_write_json(weights_record(results), record)
    log(f"weights: {record.get('path') or record['reason']}")
    return record


def run(args: argparse.Namespace, params: dict) -> None:
    build(params, Path(args.results))
