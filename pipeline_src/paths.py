"""Where every output lives; paths tell where a file came from."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class RunFiles:
    """The files of one (variant, seed) run that `train` and `evaluate` write: the one place
    their names are spelled. With the seed "{seed}" and the variant "{variant}" it spells the
    Snakemake rules' patterns."""

    variant: str
    seed: int | str
    results: Path = RESULTS

    @property
    def folder(self) -> Path:
        """results/runs/{variant}/seed{seed}: everything `train` writes for the run."""
        return Path(self.results) / "runs" / self.variant / f"seed{self.seed}"

    @property
    def checkpoint(self) -> Path:
        """The full training state at the end (weights, optimisers, EMA, RNG)."""
        return self.folder / "checkpoint.pt"

    @property
    def generator(self) -> Path:
        """The last G (EMA when on), readable without params.yaml."""
        return self.folder / "generator.pt"

    @property
    def log_csv(self) -> Path:
        return self.folder / "log.csv"

    @property
    def diagnostics(self) -> Path:
        return self.folder / "diagnostics.json"

    @property
    def options(self) -> Path:
        """The resolved options, written last: the mark of a complete run."""
        return self.folder / "options.json"

    @property
    def samples(self) -> Path:
        return self.folder / "samples"

    @property
    def snapshots(self) -> Path:
        return self.folder / "snapshots"

    @property
    def resume(self) -> Path:
        """The periodic checkpoint a killed run resumes from; removed when the run finishes."""
        return self.folder / ".resume" / "checkpoint.pt"

    def sample(self, name: str) -> Path:
        """samples/{name}.png: `step_{k}` during training, `final` at the end."""
        return self.samples / f"{name}.png"

    def snapshot(self, step: int) -> Path:
        """The snapshot of G at `step` (train.snapshot_every)."""
        return self.snapshots / f"step_{step}.pt"

    def saved_generators(self) -> list[Path]:
        """Every saved G in step order: the snapshots, then the last one (generator.pt)."""
        steps = sorted(k for p in self.snapshots.glob("step_*.pt") if (k := snapshot_step(p)) is not None)
        return [self.snapshot(k) for k in steps] + [self.generator]

    @property
    def metrics(self) -> Path:
        """results/metrics/{variant}/seed{seed}.json: the run's metrics, one flat JSON (DVC metrics)."""
        return Path(self.results) / "metrics" / self.variant / f"seed{self.seed}.json"

    @property
    def steps_csv(self) -> Path:
        """The selection score of every saved G (DVC plots)."""
        return self.metrics.with_suffix(".steps.csv")


def snapshot_step(path: Path) -> int | None:
    """The step of a snapshot file (step_{k}.pt); None for any other file."""
    stem = Path(path).stem
    digits = stem.removeprefix("step_")
    return int(digits) if digits != stem and digits.isdigit() else None


def params_stamp(stage: str, name: str, results: Path = RESULTS) -> Path:
    """results/.stamps/{stage}/{name}.json: the resolved params one job was asked to use."""
    return Path(results) / ".stamps" / stage / f"{name}.json"


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
