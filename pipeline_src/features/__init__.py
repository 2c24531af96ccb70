"""Feature extractors by name: images -> features, shared by every metric of a sample set.

`open_extractor(name, ...)` returns an Extractor whose `identity` (what its
features depend on besides the images: weights sha256, resize) is part of the
reference statistics' cache key, and whose call maps (N, C, S, S) uint8 images
to a dict of (N, ...) arrays. `compare(name, outputs, reference)` turns the
features of one sample set and the reference arrays into metrics.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from pipeline_src.errors import InputError
from pipeline_src.io import file_digest, load_torch_file
from pipeline_src.metrics.frechet import statistics
from pipeline_src.metrics.images import EXTRACTOR_METRICS, classifier_metrics, inception_metrics, label_histogram

EXTRACTORS = tuple(EXTRACTOR_METRICS)  # classifier, inception


@dataclass
class Extractor:
    name: str
    weights_path: Path
    identity: dict
    run: Callable[[torch.Tensor], dict]

    def __call__(self, images: torch.Tensor) -> dict:
        return self.run(images)


def open_extractor(name: str, *, classifier_path: Path | None = None, inception_weights: Path | None = None,
                   batch_size: int, device: torch.device) -> Extractor:
    if name == "classifier":
        from pipeline_src.features.classifier import classify, from_payload

        payload = load_torch_file(classifier_path, "rerun the classifier stage")
        try:
            model = from_payload(payload).to(device)
        except (RuntimeError, KeyError, TypeError, ValueError) as e:  # a torch file, but not a classifier's
            raise InputError(f"{classifier_path}: cannot be loaded ({e.__class__.__name__}: {e}); "
                             "rerun the classifier stage") from None

        def run(images: torch.Tensor) -> dict:
            features, labels = classify(model, images, batch_size, device)
            return {"features": features.numpy(), "labels": labels.numpy()}

        identity = {"weights_sha256": file_digest(classifier_path), "n_classes": model.config["n_classes"]}
        return Extractor(name, Path(classifier_path), identity, run)
    if name == "inception":
        from pipeline_src.features.inception import RESIZE, InceptionExtractor

        net = InceptionExtractor(inception_weights, device)
        identity = {"weights_sha256": file_digest(inception_weights), "resize": RESIZE}
        return Extractor(name, Path(inception_weights), identity, lambda images: net(images, batch_size))
    raise ValueError(f"unknown extractor {name!r}; known: {', '.join(EXTRACTORS)}")


def reference_arrays(name: str, outputs: dict, labels: np.ndarray, n_classes: int) -> dict:
    """What evaluate needs of the real data: statistics (+ label histogram, + features for KID/PR)."""
    key = "features" if name == "classifier" else "pool3"
    mu, sigma = statistics(outputs[key])
    arrays = {"mu": mu, "sigma": sigma}
    if name == "classifier":
        arrays["class_hist"] = label_histogram(labels, n_classes)
    else:
        arrays["features"] = outputs["pool3"].astype(np.float32)
    return arrays


def compare(name: str, outputs: dict, reference: dict) -> dict:
    """Metrics of one sample set's extractor outputs against the reference arrays."""
    if name == "classifier":
        return classifier_metrics(outputs["features"], outputs["labels"], reference)
    return inception_metrics(outputs["pool3"], outputs["logits"], reference)
