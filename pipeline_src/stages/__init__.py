"""Stage registry: one name each for the CLI verb, the Snakemake rule and the DVC stage.

`sources` lists the files whose change must re-run the stage; Snakemake rules
take them as inputs and dvc.yaml lists them as deps (a test checks both).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

_COMMON = (
    "pipeline_src/params.py", "pipeline_src/io.py", "pipeline_src/errors.py", "pipeline_src/paths.py",
    "pipeline_src/datasets/__init__.py", "pipeline_src/stages/common.py", "pipeline_src/training/__init__.py",
)


@dataclass(frozen=True)
class Stage:
    name: str
    help: str
    module: str
    sources: tuple[str, ...]

    def load(self):
        return importlib.import_module(self.module)


STAGES: dict[str, Stage] = {}


def register(stage: Stage) -> None:
    if stage.name in STAGES:
        raise ValueError(f"stage {stage.name!r} is registered twice")
    STAGES[stage.name] = stage


register(Stage(
    "download",
    "fetch a dataset's raw files (checksummed) into results/data/{dataset}/raw/",
    "pipeline_src.stages.download",
    _COMMON + ("pipeline_src/stages/download.py", "pipeline_src/download.py", "pipeline_src/datasets/folder.py"),
))
register(Stage(
    "prepare",
    "raw files -> results/data/{dataset}/train.pt, test.pt, meta.json",
    "pipeline_src.stages.prepare",
    _COMMON + ("pipeline_src/stages/prepare.py", "pipeline_src/datasets/images.py",
               "pipeline_src/datasets/toys.py", "pipeline_src/datasets/folder.py"),
))
register(Stage(
    "classifier",
    "train the small CNN of an image dataset -> results/features/{dataset}/classifier.pt, classifier.json",
    "pipeline_src.stages.classifier",
    _COMMON + ("pipeline_src/stages/classifier.py", "pipeline_src/datasets/prepared.py", "pipeline_src/devices.py",
               "pipeline_src/features/classifier.py", "pipeline_src/progress.py", "pipeline_src/training/loop.py"),
))
register(Stage(
    "reference",
    "real-data features, statistics and real-vs-real baseline -> results/features/{dataset}/reference.npz, .json",
    "pipeline_src.stages.reference",
    _COMMON + ("pipeline_src/stages/reference.py", "pipeline_src/datasets/prepared.py", "pipeline_src/devices.py",
               "pipeline_src/features/__init__.py", "pipeline_src/features/classifier.py",
               "pipeline_src/features/inception.py", "pipeline_src/progress.py", "pipeline_src/metrics/frechet.py",
               "pipeline_src/metrics/__init__.py", "pipeline_src/metrics/images.py", "pipeline_src/metrics/toys.py",
               "pipeline_src/datasets/toys.py", "pipeline_src/training/loop.py"),
))
register(Stage(
    "train",
    "train one (variant, seed) -> results/runs/{variant}/seed{seed}/",
    "pipeline_src.stages.train",
    _COMMON + ("pipeline_src/stages/train.py", "pipeline_src/devices.py", "pipeline_src/datasets/prepared.py",
               "pipeline_src/progress.py",
               "pipeline_src/training/networks.py", "pipeline_src/training/losses.py",
               "pipeline_src/training/loop.py", "pipeline_src/training/diagnostics.py",
               "pipeline_src/training/samples.py"),
))
register(Stage(
    "evaluate",
    "metrics of one (variant, seed) -> results/metrics/{variant}/seed{seed}.json",
    "pipeline_src.stages.evaluate",
    _COMMON + ("pipeline_src/stages/evaluate.py", "pipeline_src/stages/reference.py", "pipeline_src/devices.py",
               "pipeline_src/metrics/__init__.py", "pipeline_src/metrics/toys.py", "pipeline_src/metrics/frechet.py",
               "pipeline_src/metrics/images.py", "pipeline_src/features/__init__.py",
               "pipeline_src/features/classifier.py", "pipeline_src/features/inception.py",
               "pipeline_src/progress.py", "pipeline_src/datasets/toys.py", "pipeline_src/datasets/prepared.py",
               "pipeline_src/training/networks.py",
               "pipeline_src/training/loop.py", "pipeline_src/training/generator.py"),
))
register(Stage(
    "report",
    "tables, figures and index.html over every run -> results/report/",
    "pipeline_src.stages.report",
    _COMMON + ("pipeline_src/stages/report.py", "pipeline_src/report/__init__.py", "pipeline_src/report/tables.py",
               "pipeline_src/report/findings.py", "pipeline_src/report/figures.py", "pipeline_src/report/html.py", "pipeline_src/metrics/__init__.py",
               "pipeline_src/training/generator.py",
               "pipeline_src/training/networks.py", "pipeline_src/training/loop.py",
               "pipeline_src/datasets/prepared.py", "pipeline_src/datasets/toys.py"),
))
