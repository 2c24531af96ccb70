"""The stage table: one name each for the CLI verb, the Snakemake rule and the DVC stage, and
what each job writes. The CLI, the Snakemake rules and the dvc.yaml generator
(pipeline_src/dvc_yaml.py) read it.

A stage's `sources` are the files whose change must re-run it: the modules of this package
that its module imports, directly or through others, read from the import statements (those
inside functions too) with the packages around them, and params.py and what it imports, which
validate every stage's params; not the package's own __init__ (its version string) nor this
registry. A stage may also load modules by name, only when a job's options ask for them
(`on_demand`): they are sources of those jobs only under Snakemake, and of every job in dvc.yaml,
which cannot tell jobs apart. Snakemake rules take the sources as inputs; dvc.yaml lists them as
deps, and a test fails when a module a stage loads is not among them.
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipeline_src.paths import (RunFiles, classifier_files, data_root, features_root, log_file, metrics_root,
                                prepared_files, raw_dir, reference_files, report_files, runs_root, weights_record)
from pipeline_src.stages import common
from pipeline_src.training import SCORER_MODULE, SELECT_KEYS, early_stop_on

PACKAGE = "pipeline_src"
_PACKAGE_PARENT = Path(__file__).resolve().parent.parent.parent  # the folder that holds pipeline_src/
_EVERY_STAGE = ("pipeline_src.params",)  # run before any stage: the params of every stage pass through it
# Packages whose __init__ runs with any stage but holds no stage behaviour: the version string,
# and this registry (editing it must not re-run every stage).
_NOT_SOURCES = (PACKAGE, f"{PACKAGE}.stages")


def _module_file(module: str) -> Path | None:
    """The file of a module of this package, or None (a name imported from a module, not a module)."""
    path = _PACKAGE_PARENT.joinpath(*module.split("."))
    if (path / "__init__.py").is_file():
        return path / "__init__.py"
    return path.with_suffix(".py") if path.with_suffix(".py").is_file() else None


def _imported_modules(module: str) -> set[str]:
    """The modules of this package that `module`'s import statements name, anywhere in the file.
    Importing a module runs its packages' __init__ first, so they count too."""
    file = _module_file(module)
    package = module if file.name == "__init__.py" else module.rpartition(".")[0]  # what `from .` names
    found = set()
    for node in ast.walk(ast.parse(file.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith(PACKAGE + ".")}
        elif isinstance(node, ast.ImportFrom):
            base = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
            if base.split(".")[0] != PACKAGE:
                continue
            if base != PACKAGE:
                found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names if _module_file(f"{base}.{a.name}")}
    parents = {".".join(m.split(".")[:i]) for m in found for i in range(1, len(m.split(".")))}
    return {m for m in found | parents if _module_file(m) is not None and m not in _NOT_SOURCES}


@functools.cache
def import_closure(*roots: str) -> tuple[str, ...]:
    """Files of every module of this package that `roots` import, directly or not, sorted."""
    seen, todo = set(), list(roots)
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo += _imported_modules(module)
    return tuple(sorted(str(_module_file(m).relative_to(_PACKAGE_PARENT)) for m in seen))


# What a job of each kind is called: the wildcards of its files, in each driver's spelling.
PER_DATASET, PER_RUN, ONCE = "dataset", "run", "once"
ONE_JOB = "all"  # the name of the one job of a stage that runs once (its stamp's and log's name)
WILDCARDS = {PER_DATASET: ("dataset",), PER_RUN: ("variant", "seed"), ONCE: ()}
SNAKEMAKE_WILDCARDS = {"dataset": "{dataset}", "variant": "{variant}", "seed": "{seed}"}
DVC_WILDCARDS = {"dataset": "${key}", "variant": "${item.variant}", "seed": "${item.seed}"}


def _none(**_) -> dict:
    return {}


@dataclass(frozen=True)
class Stage:
    """One stage: its CLI verb, Snakemake rule and DVC stage share `name`.

    `outputs(**wildcards)` names the files a job writes (paths.py spells them); `directories`,
    `metrics` and `plots` say which of them are folders, DVC metrics and DVC plots.
    `options(params, name)` are the params one job depends on (its stamp records them),
    `device(options, name)` the device it runs on (the CLI claims a GPU for it before the stage
    starts, and the Snakemake rule asks for one) and `threads(options)` its torch threads on the
    CPU (None: the stage runs no torch; the rule reserves as many cores).
    `on_demand` names modules the stage loads by name (no import statement) when `loads_on_demand(options)`.
    `dvc_params` and `dvc_inputs` are what dvc.yaml declares beyond the sources: DVC cannot
    look a variant's dataset up inside a matrix, so they are wider than a Snakemake rule's
    inputs, which workflow/rules/ computes per job."""

    name: str
    help: str
    module: str
    per: str
    options: Callable[[dict, str], dict]
    outputs: Callable[..., dict]
    dvc_params: Callable[..., list]
    dvc_inputs: Callable[..., list] = lambda **_: []
    directories: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    plots: Callable[..., dict] = _none
    device: Callable[[dict, str], str] = lambda options, name: "cpu"  # "cuda" claims a GPU
    threads: Callable[[dict], int | None] = lambda options: None
    on_demand: tuple[str, ...] = ()
    loads_on_demand: Callable[[dict], bool] = lambda options: False
    dvc_note: str = ""

    @property
    def sources(self) -> tuple[str, ...]:
        """The files whose change may re-run one of its jobs (dvc.yaml's deps)."""
        return import_closure(self.module, *_EVERY_STAGE, *self.on_demand)

    def job_sources(self, options: dict) -> tuple[str, ...]:
        """The files whose change re-runs the job with these options (its Snakemake rule's inputs)."""
        return import_closure(self.module, *_EVERY_STAGE, *(self.on_demand if self.loads_on_demand(options) else ()))

    def load(self):
        return importlib.import_module(self.module)

    def job_name(self, **wildcards) -> str:
        """The job's name: its stamp's file name and DVC's name for it (stage@name)."""
        if self.per == PER_RUN:
            return f"{wildcards['variant']}-{wildcards['seed']}"
        return wildcards["dataset"] if self.per == PER_DATASET else ONE_JOB

    def arguments(self, **wildcards) -> list[tuple[str, str]]:
        """The command's options, as (flag, value) pairs: what selects the job."""
        return [(f"--{w}", wildcards[w]) for w in WILDCARDS[self.per]]

    def log(self, **wildcards) -> Path:
        return log_file(self.name, *(wildcards[w] for w in WILDCARDS[self.per]))


STAGES: dict[str, Stage] = {}


def register(stage: Stage) -> None:
    if stage.name in STAGES:
        raise ValueError(f"stage {stage.name!r} is registered twice")
    STAGES[stage.name] = stage


def _run_option_params(variant: str, **_) -> list[str]:
    """Every key of `train` but `seeds`, one by one (all of `train` would include `seeds`, and a
    new seed would retrain every run), and the variant's own keys; and the selection settings that
    early stopping scores with (DVC cannot tell which variants stop early; the dataset's options
    it scores with reach the stage through the prepared data)."""
    from pipeline_src.params import load_schema

    options = load_schema()["$defs"]["run_options"]["properties"]
    return [f"train.{k}" for k in options] + [f"variants.{variant}"] + [f"evaluate.{k}" for k in SELECT_KEYS]


register(Stage(
    "download",
    "fetch a dataset's raw files (checksummed) into results/data/{dataset}/raw/",
    "pipeline_src.stages.download",
    options=common.data_job_options("download"),
    per=PER_DATASET,
    outputs=lambda dataset: {"raw": raw_dir(dataset)},
    directories=("raw",),
    dvc_params=lambda dataset: ["download", f"datasets.{dataset}"],
))
register(Stage(
    "prepare",
    "raw files -> results/data/{dataset}/train.pt, test.pt, meta.json",
    "pipeline_src.stages.prepare",
    options=common.data_job_options("prepare"),
    per=PER_DATASET,
    outputs=prepared_files,
    dvc_inputs=lambda dataset: [raw_dir(dataset)],
    dvc_params=lambda dataset: ["prepare", f"datasets.{dataset}"],
))
register(Stage(
    "classifier",
    "train the small CNN of an image dataset -> results/features/{dataset}/classifier.pt, classifier.json",
    "pipeline_src.stages.classifier",
    options=common.data_job_options("classifier"),
    device=common.image_device("classifier"),
    threads=lambda options: options["classifier"]["cpu_threads"],
    per=PER_DATASET,
    outputs=classifier_files,
    metrics=("summary",),
    dvc_inputs=lambda dataset: list(prepared_files(dataset).values()),
    dvc_params=lambda dataset: ["classifier", f"datasets.{dataset}"],
    dvc_note="A points dataset has no classifier: its stage records that it needs none.",
))
register(Stage(
    "weights",
    "fetch the pinned Inception weights where the network is -> results/weights/inception.json",
    "pipeline_src.stages.weights",
    options=common.weights_job_options,
    per=ONCE,
    outputs=lambda: {"record": weights_record()},
    dvc_params=lambda: ["reference.inception", "reference.extractors"],
    dvc_note="The pinned Inception weights, fetched before any reference stage needs them. Snakemake runs "
             "this job on the machine it runs on, never on a cluster node.",
))
register(Stage(
    "reference",
    "real-data features, statistics and real-vs-real baseline -> results/features/{dataset}/reference.npz, .json",
    "pipeline_src.stages.reference",
    options=common.reference_job_options,
    device=common.image_device("reference"),
    threads=lambda options: options["reference"]["cpu_threads"],
    per=PER_DATASET,
    outputs=reference_files,
    metrics=("summary",),
    dvc_inputs=lambda dataset: [*prepared_files(dataset).values(), classifier_files(dataset)["weights"],
                                weights_record()],
    dvc_params=lambda dataset: ["reference", "evaluate.toy_samples", "evaluate.hq_threshold", f"datasets.{dataset}"],
    dvc_note="The content-keyed feature cache (results/.cache/) is not an output: it only saves work when "
             "the stage re-runs.",
))
register(Stage(
    "train",
    "train one (variant, seed) -> results/runs/{variant}/seed{seed}/",
    "pipeline_src.stages.train",
    options=common.train_job_options,
    device=lambda options, name: options["device"],
    threads=lambda options: options["cpu_threads"],
    on_demand=(SCORER_MODULE,),  # the selection score, when the run stops early
    loads_on_demand=lambda options: early_stop_on(options["early_stop"]),
    per=PER_RUN,
    outputs=lambda variant, seed: RunFiles(variant, seed).trained(),
    directories=("samples", "snapshots"),
    metrics=("diagnostics",),
    # `dvc plots show/diff` draw G's loss against the step (every column is in the file; the
    # report's figures show D and G losses and D's outputs with bands over seeds)
    # and the selection score of every snapshot, where the run stops early
    plots=lambda variant, seed: {"log_csv": {"x": "step", "y": "loss_g", "title": f"{variant} seed {seed}",
                                             "x_label": "generator step", "y_label": "G loss"},
                                 "scores": {"x": "step", "title": f"{variant} seed {seed} score in training",
                                            "x_label": "generator step"}},
    dvc_inputs=lambda variant, seed: [data_root(), features_root()],
    dvc_params=_run_option_params,
    dvc_note="DVC cannot look up a variant's dataset, or whether it stops early, inside a matrix, so the "
             "data dependencies are the prepared-data folder and the features folder (the classifier and "
             "reference statistics that early stopping scores images with) as a whole: a change of one "
             "dataset re-trains every variant under DVC (under Snakemake only that dataset's variants, and "
             "a run depends on the features only when it stops early).",
))
register(Stage(
    "evaluate",
    "metrics of one (variant, seed) -> results/metrics/{variant}/seed{seed}.json",
    "pipeline_src.stages.evaluate",
    options=common.evaluate_job_options,
    device=common.evaluate_device,
    threads=lambda options: options["evaluate"]["cpu_threads"],
    per=PER_RUN,
    outputs=lambda variant, seed: RunFiles(variant, seed).evaluated(),
    metrics=("metrics",),
    # the selection score of every saved G (snapshots and the last): FD_classifier, mode_js or sliced W1
    plots=lambda variant, seed: {"steps": {"x": "step", "title": f"{variant} seed {seed} selection score",
                                           "x_label": "generator step"}},
    dvc_inputs=lambda variant, seed: [RunFiles(variant, seed).generator, RunFiles(variant, seed).snapshots,
                                      RunFiles(variant, seed).diagnostics, features_root()],
    dvc_params=lambda variant, seed: ["evaluate", "datasets"],
    dvc_note="DVC cannot pick the variant's dataset out of a matrix, so the stage depends on all of "
             "`datasets` and on every dataset's classifier and reference statistics (results/features).",
))
register(Stage(
    "report",
    "tables, figures and index.html over every run -> results/report/",
    "pipeline_src.stages.report",
    options=common.report_job_options,
    threads=lambda options: options["cpu_threads"],
    per=ONCE,
    outputs=report_files,
    directories=("figures",),
    # PNG and SVG of every figure: `dvc plots show` / `dvc plots diff` put them side by side
    plots=lambda: {"figures": None},
    dvc_inputs=lambda: [metrics_root(), features_root(), runs_root(), data_root()],
    dvc_params=lambda: ["report", "train", "variants", "datasets", "evaluate.hq_threshold", "evaluate.cpu_threads"],
    dvc_note="Every run's metrics, log.csv, diagnostics.json and first-seed generator (sample figures), "
             "every dataset's baseline and test split.",
))
