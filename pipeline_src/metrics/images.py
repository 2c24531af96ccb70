"""Image metrics from features: features -> statistics -> distances.

Every function takes the features of a generated (or held-out real) sample set
and a reference (the real data's features, statistics and label histogram,
as the `reference` stage stores them) and returns a flat dict whose keys are
the metric names of the metrics file. KID, the Inception Score and
precision/recall are torch-fidelity's own functions, called with its defaults
(the values of the papers), so our numbers are the library's numbers.
"""

from __future__ import annotations

import numpy as np

from pipeline_src.metrics import COUNT, HIGHER, LOWER, SPREAD, registers
from pipeline_src.metrics.frechet import frechet_distance, statistics

KID_SUBSETS = 100  # torch-fidelity / Binkowski et al. 2018
KID_SUBSET_SIZE = 1000  # at most; smaller when a sample set is smaller (recorded as kid_subset_size)
ISC_SPLITS = 10  # Salimans et al. 2016
PRC_NEIGHBORHOOD = 3  # k of the k-NN manifolds, Kynkaenniemi et al. 2019
COVERAGE_FRACTION = 0.1  # a class is covered when it gets >= 10% of its share of the real data
METRIC_SEED = 2020  # torch-fidelity's default rng_seed for KID subsets and IS shuffling


def label_histogram(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """(N,) int labels -> (n_classes,) frequencies summing to 1."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=n_classes).astype(np.float64)
    return counts / max(counts.sum(), 1.0)


def class_coverage(predicted: np.ndarray, real_hist: np.ndarray) -> dict:
    """Mode collapse on labelled images, from the classifier's predicted labels.

    classes_covered: classes whose generated share is at least COVERAGE_FRACTION
    of their real share (a stray sample or two does not count as covering a class);
    class_kl: KL(p_gen || p_real) of the label histograms, in nats (0 when the
    generated label distribution equals the real one; finite since p_real > 0).
    """
    real = np.asarray(real_hist, dtype=np.float64)
    gen = label_histogram(predicted, len(real))
    covered = int(np.sum(gen >= COVERAGE_FRACTION * real))
    mask = gen > 0
    kl = float(np.sum(gen[mask] * np.log(gen[mask] / np.maximum(real[mask], 1e-12))))
    return {"classes_covered": covered, "n_classes": len(real), "class_kl": kl}


@registers("image", fd_classifier=LOWER, classes_covered=HIGHER, class_kl=LOWER, n_classes=COUNT)
def classifier_metrics(features: np.ndarray, predicted: np.ndarray, reference: dict) -> dict:
    """FD in the domain classifier's feature space and class coverage.
    reference: {"mu", "sigma", "class_hist"} of the real data."""
    mu, sigma = statistics(features)
    out = {"fd_classifier": frechet_distance(mu, sigma, reference["mu"], reference["sigma"])}
    out.update(class_coverage(predicted, reference["class_hist"]))
    return out


@registers("image", fid=LOWER, kid=LOWER, kid_std=SPREAD, kid_subset_size=COUNT, inception_score=HIGHER,
           inception_score_std=SPREAD, precision=HIGHER, recall=HIGHER)
def inception_metrics(pool3: np.ndarray, logits: np.ndarray, reference: dict) -> dict:
    """FID, KID, Inception Score and precision/recall from one set of Inception features.
    reference: {"mu", "sigma", "features"} of the real data's pool3 features."""
    import torch
    from torch_fidelity.metric_isc import isc_features_to_metric
    from torch_fidelity.metric_kid import kid_features_to_metric
    from torch_fidelity.metric_prc import prc_features_to_metric

    mu, sigma = statistics(pool3)
    out = {"fid": frechet_distance(mu, sigma, reference["mu"], reference["sigma"])}
    gen, real = torch.as_tensor(pool3, dtype=torch.float32), torch.as_tensor(reference["features"], dtype=torch.float32)
    subset = min(KID_SUBSET_SIZE, len(gen), len(real))
    kid = kid_features_to_metric(gen, real, kid_subsets=KID_SUBSETS, kid_subset_size=subset, kid_kernel="poly",
                                 rng_seed=METRIC_SEED, verbose=False)  # cubic polynomial kernel: the library default
    out.update(kid=kid["kernel_inception_distance_mean"], kid_std=kid["kernel_inception_distance_std"],
               kid_subset_size=subset)
    isc = isc_features_to_metric(torch.as_tensor(logits), splits=ISC_SPLITS, shuffle=True, rng_seed=METRIC_SEED)
    out.update(inception_score=isc["inception_score_mean"], inception_score_std=isc["inception_score_std"])
    prc = prc_features_to_metric(gen, real, prc_neighborhood=PRC_NEIGHBORHOOD, prc_batch_size=10000,
                                 save_cpu_ram=False, verbose=False)
    out.update(precision=prc["precision"], recall=prc["recall"])
    return out
