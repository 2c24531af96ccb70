"""Stage `classifier`: one dataset -> results/features/{dataset}/classifier.pt, classifier.json.

For an image dataset: a small CNN (pipeline_src.features.classifier) trained on
the labelled train split; classifier.json records its test accuracy against
the target for the dataset (97% digits/MNIST, 88% Fashion-MNIST; a miss is
logged and recorded, not hidden). Points datasets need no network (their
modes are known); the job records that and writes no weights.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline_src import datasets
from pipeline_src.datasets.prepared import load_prepared
from pipeline_src.devices import resolve_device
from pipeline_src.features.classifier import classify, save_payload, train_classifier
from pipeline_src.io import atomic_write_bytes, atomic_write_json, torch_bytes
from pipeline_src.paths import RESULTS, classifier_files
from pipeline_src.stages.common import job_options, log


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", required=True, help="a key of `datasets:` in params.yaml")


def build(dataset: str, params: dict, results: Path = RESULTS) -> dict:
    options = job_options("classifier", params, dataset)
    files = classifier_files(dataset, results)
    if datasets.spec_of(dataset, options["dataset"]).kind != "image":
        summary = {"dataset": dataset, "applicable": False,
                   "reason": "points dataset: the toy metrics assign points to the known mixture modes"}
        atomic_write_bytes(files["weights"], torch_bytes(summary))
        atomic_write_json(files["summary"], summary)
        log(f"classifier {dataset}: not applicable ({summary['reason']})")
        return summary
    cls = options["classifier"]
    device = resolve_device(cls["device"])
    x, y, meta = load_prepared(dataset, results, "train")
    x_test, y_test, _ = load_prepared(dataset, results, "test")
    model = train_classifier(x, y, len(meta["classes"]), cls, cls["seed"], device)
    _, predicted = classify(model, x_test, 500, device, desc="classifier test accuracy")
    accuracy = float((predicted == y_test).double().mean())
    target = datasets.spec_of(dataset, options["dataset"]).classifier_target
    summary = {
        "dataset": dataset, "applicable": True, "test_accuracy": accuracy, "n_test": len(y_test),
        "target_accuracy": target, "meets_target": None if target is None else accuracy >= target,
        "data_sha256": meta["sha256"]["train.pt"], "options": cls,
    }
    atomic_write_bytes(files["weights"], torch_bytes(save_payload(model.cpu(), {
        "dataset": dataset, "classes": meta["classes"], "data_sha256": summary["data_sha256"],
        "test_accuracy": accuracy})))
    atomic_write_json(files["summary"], summary)
    shortfall = "" if target is None or accuracy >= target else f" (below the {target:.0%} target)"
    log(f"classifier {dataset}: test accuracy {accuracy:.4f} on {len(y_test)} images{shortfall} -> {files['weights']}")
    return summary


def run(args: argparse.Namespace, params: dict) -> None:
    build(args.dataset, params, Path(args.results))
