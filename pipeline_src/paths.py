"""Where every output lives; paths tell where a file came from."""

from __future__ import annotations

from pathlib import Path

RESULTS = Path("results")


def data_dir(dataset: str, results: Path = RESULTS) -> Path:
    return Path(results) / "data" / dataset


def raw_dir(dataset: str, results: Path = RESULTS) -> Path:
    return data_dir(dataset, results) / "raw"


def prepared_files(dataset: str, results: Path = RESULTS) -> dict[str, Path]:
    d = data_dir(dataset, results)
    return {"train": d / "train.pt", "test": d / "test.pt", "meta": d / "meta.json"}


def manifest_path(dataset: str, results: Path = RESULTS) -> Path:
    """raw/manifest.json: the files `download` delivered, their checksums and sources."""
    return raw_dir(dataset, results) / "manifest.json"


def run_dir(variant: str, seed: int, results: Path = RESULTS) -> Path:
    """results/runs/{variant}/seed{seed}: everything `train` writes for one run."""
    return Path(results) / "runs" / variant / f"seed{seed}"


def params_stamp(stage: str, name: str, results: Path = RESULTS) -> Path:
    """results/.stamps/{stage}/{name}.json: the resolved params one job was asked to use."""
    return Path(results) / ".stamps" / stage / f"{name}.json"


def metrics_file(variant: str, seed: int, results: Path = RESULTS) -> Path:
    """results/metrics/{variant}/seed{seed}.json: one flat JSON per run (DVC metrics)."""
    return Path(results) / "metrics" / variant / f"seed{seed}.json"


def features_dir(dataset: str, results: Path = RESULTS) -> Path:
    """results/features/{dataset}: the dataset's classifier and reference statistics."""
    return Path(results) / "features" / dataset


def classifier_files(dataset: str, results: Path = RESULTS) -> dict[str, Path]:
    d = features_dir(dataset, results)
    return {"weights": d / "classifier.pt", "summary": d / "classifier.json"}


def reference_files(dataset: str, results: Path = RESULTS) -> dict[str, Path]:
    """reference.npz (arrays per extractor) and reference.json (cache keys, baseline, unavailable)."""
    d = features_dir(dataset, results)
    return {"arrays": d / "reference.npz", "summary": d / "reference.json"}


def weights_record(results: Path = RESULTS) -> Path:
    """results/weights/inception.json: where the checked Inception weights are, or why there are none."""
    return Path(results) / "weights" / "inception.json"


def feature_cache(extractor: str, key: str, results: Path = RESULTS) -> Path:
    """results/.cache/features/{extractor}-{key}.npz: real-data features keyed by their content."""
    return Path(results) / ".cache" / "features" / f"{extractor}-{key}.npz"


def report_files(results: Path = RESULTS) -> dict[str, Path]:
    """The tables, the figures folder (figures/{name}.png and .svg) and the HTML page."""
    d = Path(results) / "report"
    return {"csv": d / "summary.csv", "md": d / "summary.md", "comparisons": d / "comparisons.csv",
            "figures": d / "figures", "html": d / "index.html"}
