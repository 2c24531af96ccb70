"""Feature extractors, a registry: images -> features, shared by every metric of a sample set.

Each registered `ExtractorKind` carries its behaviour: where its weights are found, how it
opens from them, the metrics it gives (what `unavailable` lists when it cannot run), what of
the real data those metrics need, and how one sample set's features are compared with it.
An opened `Extractor` has an `identity` (what its features depend on besides the images:
weights sha256, resize), part of the reference statistics' cache key, and maps
(N, C, S, S) uint8 images to a dict of (N, ...) arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from pipeline_src.errors import InputError
from pipeline_src.io import file_digest, load_torch_file
from pipeline_src.metrics import computed_by
from pipeline_src.metrics.frechet import statistics
from pipeline_src.metrics.images import classifier_metrics, inception_metrics, label_histogram
from pipeline_src.paths import classifier_files


@dataclass
class Extractor:
    name: str
    weights_path: Path
    identity: dict
    run: Callable[[torch.Tensor], dict]

    def __call__(self, images: torch.Tensor) -> dict:
        return self.run(images)


@dataclass(frozen=True)
class ExtractorKind:
    name: str
    metrics: tuple[str, ...]  # what `compare` gives (what `unavailable` lists when it cannot run)
    # (dataset, `reference` options, results) -> the weights file; raises WeightsUnavailable where there are none
    locate: Callable[[str, dict, Path], Path]
    open: Callable[[Path, int, torch.device], Extractor]  # (weights, batch_size, device)
    reference_arrays: Callable[[dict, np.ndarray, int], dict]  # (real outputs, labels, n_classes) -> arrays
    compare: Callable[[dict, dict], dict]  # (outputs of a sample set, reference arrays) -> metrics


EXTRACTORS: dict[str, ExtractorKind] = {}


def register(kind: ExtractorKind) -> None:
    if kind.name in EXTRACTORS:
        raise ValueError(f"extractor {kind.name!r} is registered twice")
    EXTRACTORS[kind.name] = kind


def open_extractor(name: str, weights: Path, batch_size: int, device: torch.device) -> Extractor:
    return EXTRACTORS[name].open(Path(weights), batch_size, device)


def reference_arrays(name: str, outputs: dict, labels: np.ndarray, n_classes: int) -> dict:
    """What evaluate needs of the real data: statistics, and what else the extractor's metrics use."""
    return EXTRACTORS[name].reference_arrays(outputs, labels, n_classes)


def compare(name: str, outputs: dict, reference: dict) -> dict:
    """Metrics of one sample set's extractor outputs against the reference arrays."""
    return EXTRACTORS[name].compare(outputs, reference)


def _open_classifier(weights: Path, batch_size: int, device: torch.device) -> Extractor:
    from pipeline_src.features.classifier import classify, from_payload

    payload = load_torch_file(weights, "rerun the classifier stage")
    try:
        model = from_payload(payload).to(device)
    except (RuntimeError, KeyError, TypeError, ValueError) as e:  # a torch file, but not a classifier's
        raise InputError(f"{weights}: cannot be loaded ({e.__class__.__name__}: {e}); "
                         "rerun the classifier stage") from None

    def run(images: torch.Tensor) -> dict:
        features, labels = classify(model, images, batch_size, device)
        return {"features": features.numpy(), "labels": labels.numpy()}

    identity = {"weights_sha256": file_digest(weights), "n_classes": model.config["n_classes"]}
    return Extractor("classifier", weights, identity, run)


def _classifier_reference(outputs: dict, labels: np.ndarray, n_classes: int) -> dict:
    mu, sigma = statistics(outputs["features"])
    return {"mu": mu, "sigma": sigma, "class_hist": label_histogram(labels, n_classes)}


register(ExtractorKind(
    "classifier", computed_by(classifier_metrics),
    locate=lambda dataset, options, results: classifier_files(dataset, results)["weights"],
    open=_open_classifier,
    reference_arrays=_classifier_reference,
    compare=lambda outputs, reference: classifier_metrics(outputs["features"], outputs["labels"], reference),
))


def _locate_inception(dataset: str, options: dict, results: Path) -> Path:
    from pipeline_src.features.inception import recorded_weights

    return recorded_weights(options["inception"], results)


def _open_inception(weights: Path, batch_size: int, device: torch.device) -> Extractor:
    from pipeline_src.features.inception import RESIZE, InceptionExtractor

    net = InceptionExtractor(weights, device)
    identity = {"weights_sha256": file_digest(weights), "resize": RESIZE}
    return Extractor("inception", weights, identity, lambda images: net(images, batch_size))


def _inception_reference(outputs: dict, labels: np.ndarray, n_classes: int) -> dict:
    mu, sigma = statistics(outputs["pool3"])
    return {"mu": mu, "sigma": sigma, "features": outputs["pool3"].astype(np.float32)}


register(ExtractorKind(
    "inception", computed_by(inception_metrics),
    locate=_locate_inception,
    open=_open_inception,
    reference_arrays=_inception_reference,
    compare=lambda outputs, reference: inception_metrics(outputs["pool3"], outputs["logits"], reference),
))
