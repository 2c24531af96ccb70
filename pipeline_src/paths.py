"""Where every output lives; paths tell where a file came from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

RESULTS = Path("results")


def data_root(results: Path = RESULTS) -> Path:
    """results/data: every dataset's raw and prepared files."""
    return Path(results) / "data"


def runs_root(results: Path = RESULTS) -> Path:
    """results/runs: what `train` writes, one folder per (variant, seed)."""
    return Path(results) / "runs"


def metrics_root(results: Path = RESULTS) -> Path:
    """results/metrics: what `evaluate` writes, one file per (variant, seed)."""
    return Path(results) / "metrics"


def features_root(results: Path = RESULTS) -> Path:
    """results/features: every dataset's classifier and reference statistics."""
    return Path(results) / "features"


def data_dir(dataset: str, results: Path = RESULTS) -> Path:
    return data_root(results) / dataset


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
        return runs_root(self.results) / self.variant / f"seed{self.seed}"

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
    def scores_csv(self) -> Path:
        """step, the selection score of the G saved at that step, as train scored it (train.early_stop;
        only the header when early stopping is off)."""
        return self.folder / "scores.csv"

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

    def trained(self) -> dict[str, Path]:
        """What `train` writes, by name."""
        return {"checkpoint": self.checkpoint, "generator": self.generator, "log_csv": self.log_csv,
                "diagnostics": self.diagnostics, "scores": self.scores_csv, "options": self.options,
                "samples": self.samples, "snapshots": self.snapshots}

    def evaluated(self) -> dict[str, Path]:
        """What `evaluate` writes, by name."""
        return {"metrics": self.metrics, "steps": self.steps_csv}

    @property
    def metrics(self) -> Path:
        """results/metrics/{variant}/seed{seed}.json: the run's metrics, one flat JSON (DVC metrics)."""
        return metrics_root(self.results) / self.variant / f"seed{self.seed}.json"

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


def log_file(stage: str, *job: str, results: Path = RESULTS) -> Path:
    """results/logs/{stage}.log for a stage that runs once, {stage}/{dataset}.log per dataset,
    {stage}/{variant}/seed{seed}.log per run: a job's standard error."""
    logs = Path(results) / "logs"
    if not job:
        return logs / f"{stage}.log"
    if len(job) == 1:
        return logs / stage / f"{job[0]}.log"
    variant, seed = job
    return logs / stage / variant / f"seed{seed}.log"


def features_dir(dataset: str, results: Path = RESULTS) -> Path:
    """results/features/{dataset}: the dataset's classifier and reference statistics."""
    return features_root(results) / dataset


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
