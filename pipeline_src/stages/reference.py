"""Stage `reference`: one dataset -> results/features/{dataset}/reference.npz, reference.json.

For an image dataset, per extractor of `reference.extractors`:
- the real images of `reference.split` (at most `max_images`, a seeded subset)
  go through the extractor once; reference.npz keeps what `evaluate` needs
  ({extractor}.mu, .sigma, and .class_hist or .features);
- the other split goes through it too, and is compared with the reference
  exactly as a generator's samples will be: the real-vs-real baseline (the
  floor of every distance) in reference.json;
- extractor outputs are cached under results/.cache/features/ by content
  (data sha256, extractor weights sha256, resize, image count), so a rerun for
  an unrelated reason, or a params value set back, costs a file read.
An extractor that cannot run here (no Inception weights) is recorded under
`unavailable` with the reason; the others still run.

For a points dataset: the toy metrics of the test split (the VEEGAN/PacGAN
protocol, as `evaluate` applies it to generated points) as the baseline.
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import numpy as np
import torch

from pipeline_src import datasets
from pipeline_src.datasets.prepared import load_prepared
from pipeline_src.devices import resolve_device
from pipeline_src.errors import InputError
from pipeline_src.features import EXTRACTORS, compare, open_extractor, reference_arrays
from pipeline_src.features.inception import WeightsUnavailable
from pipeline_src.io import atomic_write_bytes, atomic_write_json, bytes_digest, load_npz_file
from pipeline_src.metrics.toys import toy_metrics
from pipeline_src.paths import RESULTS, feature_cache, reference_files
from pipeline_src.stages.common import dataset_rngs, job_options, log


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", required=True, help="a key of `datasets:` in params.yaml")


def npz_bytes(arrays: dict) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def subset(x: torch.Tensor, y: torch.Tensor, n: int, dataset: str, split: str) -> tuple:
    """At most n samples: all when there are fewer, else a subset fixed by (dataset, split)."""
    if len(x) <= n:
        return x, y
    (rng,) = dataset_rngs(0, f"{dataset}/{split}", 1)
    idx = torch.from_numpy(np.sort(rng.choice(len(x), n, replace=False)))
    return x[idx], y[idx]


def cached_outputs(extractor, images: torch.Tensor, data_sha256: str, split: str, results: Path) -> tuple[dict, dict]:
    """Extractor outputs of real images, read from the content-keyed cache or computed and cached."""
    key_parts = {"extractor": extractor.name, **extractor.identity, "data_sha256": data_sha256,
                 "split": split, "n_images": len(images)}
    key = bytes_digest(json.dumps(key_parts, sort_keys=True).encode())[:32]
    path = feature_cache(extractor.name, key, results)
    if path.is_file():
        try:
            saved = load_npz_file(path, "recomputing it")
        except InputError as e:  # a damaged cache entry is recomputed, never used
            log(f"reference: {e}")
        else:
            log(f"reference: {extractor.name} features of {split} read from cache {path}")
            return saved, {**key_parts, "key": key}
    outputs = extractor(images)
    atomic_write_bytes(path, npz_bytes(outputs), shared=True)  # another job may be computing the same entry
    return outputs, {**key_parts, "key": key}


def image_reference(dataset: str, options: dict, results: Path) -> tuple[dict, dict]:
    ref = options["reference"]
    device = resolve_device(ref["device"])
    split, other = ref["split"], "test" if ref["split"] == "train" else "train"
    x, y, meta = load_prepared(dataset, results, split)
    x_base, y_base, _ = load_prepared(dataset, results, other)
    x, y = subset(x, y, ref["max_images"], dataset, split)
    x_base, _ = subset(x_base, y_base, ref["max_images"], dataset, other)
    arrays: dict[str, np.ndarray] = {}
    summary: dict = {"dataset": dataset, "kind": "image", "split": split, "baseline_split": other,
                     "n_images": len(x), "n_baseline": len(x_base), "extractors": {}, "baseline": {},
                     "unavailable": {}}
    for name in ref["extractors"]:
        try:
            weights = EXTRACTORS[name].locate(dataset, ref, results)
        except WeightsUnavailable as e:
            summary["unavailable"][name] = str(e)
            for metric in EXTRACTORS[name].metrics:
                summary["unavailable"][metric] = str(e)
            log(f"reference {dataset}: {name} unavailable: {e}")
            continue
        extractor = open_extractor(name, weights, ref["batch_size"], device)
        outputs, key = cached_outputs(extractor, x, meta["sha256"][f"{split}.pt"], split, results)
        base_outputs, _ = cached_outputs(extractor, x_base, meta["sha256"][f"{other}.pt"], other, results)
        ref_arrays = reference_arrays(name, outputs, y.numpy(), len(meta["classes"]))
        arrays.update({f"{name}.{k}": v for k, v in ref_arrays.items()})
        summary["baseline"].update(compare(name, base_outputs, ref_arrays))
        summary["extractors"][name] = {"cache_key": key, "weights": str(extractor.weights_path)}
    return arrays, summary


def points_reference(dataset: str, options: dict, results: Path) -> tuple[dict, dict]:
    x, _, _ = load_prepared(dataset, results, "test")
    n = min(options["toy"]["toy_samples"], len(x))
    spec = datasets.spec_of(dataset, options["dataset"])
    baseline = toy_metrics(spec, options["dataset"], x[:n].double().numpy(), options["toy"]["hq_threshold"])
    summary = {"dataset": dataset, "kind": "points", "split": "test", "n_images": n, "extractors": {},
               "baseline": {k: v for k, v in baseline.items() if v is not None}, "unavailable": {}}
    return {}, summary


def build(dataset: str, params: dict, results: Path = RESULTS) -> dict:
    options = job_options("reference", params, dataset)
    if datasets.spec_of(dataset, options["dataset"]).kind == "image":
        arrays, summary = image_reference(dataset, options, results)
    else:
        arrays, summary = points_reference(dataset, options, results)
    files = reference_files(dataset, results)
    atomic_write_bytes(files["arrays"], npz_bytes(arrays))
    atomic_write_json(files["summary"], summary)
    log(f"reference {dataset}: baseline {summary['baseline']}"
        + (f"; unavailable: {sorted(summary['unavailable'])}" if summary["unavailable"] else ""))
    return summary


def run(args: argparse.Namespace, params: dict) -> None:
    build(args.dataset, params, Path(args.results))
