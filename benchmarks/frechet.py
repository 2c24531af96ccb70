"""Fréchet distance on 2048-d statistics: ours (symmetric eigenvalue form) vs the formula
users run, pytorch-fid's calculate_frechet_distance (scipy.linalg.sqrtm), time and agreement."""

from __future__ import annotations

import numpy as np

from benchmarks.common import machine, timed

DIM = 2048  # Inception pool3


def random_statistics(dim: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """mu and a full-rank covariance with a decaying spectrum, like pool3 features'."""
    rng = np.random.default_rng(seed)
    scales = 1.0 / np.sqrt(1.0 + np.arange(dim))  # eigenvalues fall off as 1/k
    features = (rng.standard_normal((n, dim)) * scales) @ np.linalg.qr(rng.standard_normal((dim, dim)))[0]
    return features.mean(0), np.cov(features, rowvar=False)


def sqrtm_reference():
    """pytorch-fid's function when installed and callable (it passes sqrtm(disp=False), which
    SciPy 1.18 removed); else the same formula written out."""
    from scipy import linalg

    why = "pytorch-fid not installed"
    try:
        from pytorch_fid.fid_score import calculate_frechet_distance

        calculate_frechet_distance(np.zeros(2), np.eye(2), np.zeros(2), np.eye(2))
        return "pytorch_fid.fid_score.calculate_frechet_distance", calculate_frechet_distance
    except ImportError:
        pass
    except TypeError as e:
        why = f"pytorch-fid's call fails here: {e}"

    def fid(mu1, s1, mu2, s2):
        covmean = linalg.sqrtm(s1 @ s2)
        if not np.isfinite(covmean).all():
            offset = np.eye(len(s1)) * 1e-6
            covmean = linalg.sqrtm((s1 + offset) @ (s2 + offset))
        covmean = covmean.real
        diff = mu1 - mu2
        return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))

    return f"scipy.linalg.sqrtm formula ({why})", fid


def run(args) -> dict:
    from pipeline_src.metrics.frechet import frechet_distance

    dim = 256 if args.quick else DIM
    mu1, s1 = random_statistics(dim, 4 * dim, seed=0)
    mu2, s2 = random_statistics(dim, 4 * dim, seed=1)
    ref_name, reference = sqrtm_reference()
    ours_value = frechet_distance(mu1, s1, mu2, s2)
    ref_value = float(reference(mu1, s1, mu2, s2))
    repeats = 1 if args.quick else 3
    ours_t = timed(lambda: frechet_distance(mu1, s1, mu2, s2), repeats, warmup=0)
    ref_t = timed(lambda: reference(mu1, s1, mu2, s2), repeats, warmup=0)
    return {
        "machine": machine("cpu"),
        "config": {"dim": dim, "statistics": "random features, eigenvalues ~ 1/k, n = 4 * dim"},
        "reference": ref_name,
        "ours": {**ours_t, "value": ours_value},
        "sqrtm": {**ref_t, "value": ref_value},
        "relative_difference": abs(ours_value - ref_value) / abs(ref_value),
        "speedup_vs_sqrtm": ref_t["median_s"] / ours_t["median_s"],
        "targets": {"ours_under_1s": ours_t["median_s"] < 1.0,
                    "agrees_to_1e-6": abs(ours_value - ref_value) / abs(ref_value) < 1e-6},
    }
