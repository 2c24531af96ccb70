"""Small helpers every stage shares."""

from __future__ import annotations

import json
import sys
import zlib

import numpy as np

from pipeline_src.errors import InputError


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def print_options(stage: str, options: dict) -> None:
    """Print a stage's resolved options (they are also saved beside its outputs)."""
    log(f"{stage}: resolved options\n{json.dumps(options, indent=2, sort_keys=True)}")


def dataset_options(params: dict, name: str) -> dict:
    try:
        return params["datasets"][name]
    except KeyError:
        declared = ", ".join(params["datasets"])
        raise InputError(f"--dataset: {name!r} is not declared under `datasets` in params.yaml "
                         f"(declared: {declared})") from None


def dataset_rngs(seed: int, name: str, n: int) -> list[np.random.Generator]:
    """n independent generators for one dataset: fixed by (seed, name), independent across names."""
    root = np.random.SeedSequence([seed, zlib.crc32(name.encode())])
    return [np.random.default_rng(s) for s in root.spawn(n)]


def variant_options(params: dict, variant: str) -> dict:
    """A variant's training options: `train` defaults overridden by the variant (`seeds` aside)."""
    from pipeline_src.params import resolve_variant

    if variant not in params["variants"]:
        raise InputError(f"--variant: {variant!r} is not a key of `variants` in params.yaml "
                         f"(variants: {', '.join(params['variants'])})")
    options = resolve_variant(params, variant)
    options.pop("seeds", None)
    return options


def fingerprint(options: dict, seed: int, data_sha256: str) -> str:
    """Who a run is: its variant options, seed and training data. A resumable checkpoint must
    match it to be resumed, and every saved G records it, so that `evaluate` scores only a G
    of the run that params.yaml describes."""
    from pipeline_src.io import bytes_digest

    return bytes_digest(json.dumps({"options": options, "seed": seed, "data": data_sha256}, sort_keys=True).encode())


def job_options(stage: str, params: dict, name: str) -> dict:
    """The params one job depends on: what its stamp records and what the Snakemake
    rule passes as `params:` (one definition for the stage, the Snakefile and the stamp).
    `name` is the job's name in the stage table: the dataset, `{variant}-{seed}` or `all`."""
    from pipeline_src.stages import STAGES

    return STAGES[stage].options(params, name)


def data_job_options(stage: str):
    """The options of a per-dataset job of `stage`: the stage's section and the dataset's entry."""
    return lambda params, name: {stage: params[stage], "dataset": dataset_options(params, name)}


def reference_job_options(params: dict, name: str) -> dict:
    toy = {k: params["evaluate"][k] for k in ("toy_samples", "hq_threshold")}  # the toy baseline
    return {"reference": params["reference"], "toy": toy, "dataset": dataset_options(params, name)}


def weights_job_options(params: dict, name: str) -> dict:
    """The one job that fetches the Inception weights every image reference reads."""
    from pipeline_src import datasets

    ref = params["reference"]
    images = any(datasets.spec_of(d, o).kind == "image" for d, o in params["datasets"].items())
    return {"inception": ref["inception"], "needed": "inception" in ref["extractors"] and images}


def _variant_of(run: str) -> str:
    """The variant of a run's job name, `{variant}-{seed}`."""
    return run.rsplit("-", 1)[0]


def train_job_options(params: dict, name: str) -> dict:
    """The variant's options; with early stopping on, also what its score depends on: the selection
    settings of `evaluate` and the dataset's options (its modes, its Gaussian)."""
    from pipeline_src.training import SELECT_KEYS, early_stop_on

    options = variant_options(params, _variant_of(name))
    if early_stop_on(options["early_stop"]):
        options["scoring"] = {"select": {k: params["evaluate"][k] for k in SELECT_KEYS},
                              "dataset": dataset_options(params, options["dataset"])}
    return options


def evaluate_job_options(params: dict, name: str) -> dict:
    """Everything evaluate reads: its section, the run's options (its train job's: to recognise its G)
    and its dataset's."""
    run = train_job_options(params, name)
    return {"evaluate": params["evaluate"], "run": run, "dataset": dataset_options(params, run["dataset"])}


def _on_images(dataset: str, options: dict) -> bool:
    from pipeline_src import datasets

    return datasets.spec_of(dataset, options).kind == "image"


def image_device(section: str):
    """The device of a per-dataset job: its section's option for an image dataset, the CPU for
    points (no network runs there)."""
    return lambda options, name: options[section]["device"] if _on_images(name, options["dataset"]) else "cpu"


def evaluate_device(options: dict, name: str) -> str:
    """The device of an evaluate job: its option for images, the CPU for points (toy metrics are numpy)."""
    return options["evaluate"]["device"] if _on_images(options["run"]["dataset"], options["dataset"]) else "cpu"


def report_job_options(params: dict, name: str) -> dict:
    """The one job over the whole sweep."""
    variants = {v: variant_options(params, v) for v in params["variants"]}
    used = dict.fromkeys(o["dataset"] for o in variants.values())  # their true modes / density in figures
    return {"report": params["report"], "seeds": params["train"]["seeds"], "variants": variants,
            "datasets": {d: dataset_options(params, d) for d in used},
            "hq_threshold": params["evaluate"]["hq_threshold"],
            "cpu_threads": params["evaluate"]["cpu_threads"]}  # G draws its sample figures as evaluate does


def _as_recorded(options: dict) -> dict:
    """`options` as a stamp reads back from its JSON file (tuples as lists, and so on)."""
    from pipeline_src.io import to_json

    return json.loads(to_json(options))


def _stamp_options(path) -> dict | None:
    """The options a stamp records, or None when there is no readable stamp."""
    try:
        return json.loads(path.read_text()).get("options")
    except (OSError, ValueError, AttributeError):
        return None


def write_stamp(stage: str, name: str, options: dict, results) -> bool:
    """Record the params a job runs with, unless its stamp already records them.

    Stages call it before writing any output, and the Snakefile at DAG time. Each rewrite
    that replaces a stamp carries a fresh token, so the stamp's content changes even when the
    params go back to values Snakemake has seen (Snakemake skips an input that is newer than
    the outputs if its checksum equals the recorded one). A first stamp's token is a hash of
    the options instead: DVC deletes its outputs, this stamp among them, before it runs a
    stage, and the stamp the stage then writes must be the bytes Snakemake wrote for the
    same params, or Snakemake would rerun jobs whose params did not change.
    Returns whether it wrote.
    """
    import hashlib
    import os
    import time

    from pipeline_src.io import atomic_write_json, to_json
    from pipeline_src.paths import params_stamp

    path = params_stamp(stage, name, results)
    wanted = _as_recorded(options)
    recorded = _stamp_options(path)
    if recorded == wanted:
        return False
    if recorded is None and not path.exists():
        token = hashlib.sha256(to_json(wanted).encode()).hexdigest()[:16]
    else:
        token = f"{time.time_ns()}-{os.getpid()}"
    atomic_write_json(path, {"options": wanted, "token": token})
    return True


def plan_stamps(jobs: dict, results, read_only: bool, staging=None) -> dict:
    """{(stage, name): the stamp file each job's Snakemake rule takes as input}, for
    jobs = {(stage, name): options}. A stamp that does not match its options is rewritten, with
    a new token, so the job reruns. When Snakemake only looks (`read_only`), nothing in
    `results` is written: such a stamp is written under `staging` (a folder outside the
    workspace) instead, newer than the outputs, so that the dry run lists the job all the same."""
    from pathlib import Path

    from pipeline_src.paths import params_stamp

    planned = {}
    for (stage, name), options in jobs.items():
        path = params_stamp(stage, name, results)
        if read_only and _stamp_options(path) != _as_recorded(options):
            staged = params_stamp(stage, name, Path(staging))
            staged.parent.mkdir(parents=True, exist_ok=True)
            if path.exists():
                staged.write_bytes(path.read_bytes())  # an old stamp there: the rewrite gets a new token
            write_stamp(stage, name, options, Path(staging))
            path = staged
        elif not read_only:
            write_stamp(stage, name, options, results)
        planned[(stage, name)] = path
    return planned
