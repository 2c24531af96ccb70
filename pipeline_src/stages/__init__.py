"""Stage registry: one name each for the CLI verb, the Snakemake rule and the DVC stage.

A stage's `sources` are the files whose change must re-run it: the modules of this package
that its module imports, directly or through others, read from the import statements (those
inside functions too) with the packages around them, and params.py and what it imports, which
validate every stage's params; not the package's own __init__ (its version string) nor this
registry. Snakemake rules take them as inputs; dvc.yaml lists them as deps, and a test fails
when the two differ.
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

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


@dataclass(frozen=True)
class Stage:
    name: str
    help: str
    module: str

    @property
    def sources(self) -> tuple[str, ...]:
        return import_closure(self.module, *_EVERY_STAGE)

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
))
register(Stage(
    "prepare",
    "raw files -> results/data/{dataset}/train.pt, test.pt, meta.json",
    "pipeline_src.stages.prepare",
))
register(Stage(
    "classifier",
    "train the small CNN of an image dataset -> results/features/{dataset}/classifier.pt, classifier.json",
    "pipeline_src.stages.classifier",
))
register(Stage(
    "weights",
    "fetch the pinned Inception weights where the network is -> results/weights/inception.json",
    "pipeline_src.stages.weights",
))
register(Stage(
    "reference",
    "real-data features, statistics and real-vs-real baseline -> results/features/{dataset}/reference.npz, .json",
    "pipeline_src.stages.reference",
))
register(Stage(
    "train",
    "train one (variant, seed) -> results/runs/{variant}/seed{seed}/",
    "pipeline_src.stages.train",
))
register(Stage(
    "evaluate",
    "metrics of one (variant, seed) -> results/metrics/{variant}/seed{seed}.json",
    "pipeline_src.stages.evaluate",
))
register(Stage(
    "report",
    "tables, figures and index.html over every run -> results/report/",
    "pipeline_src.stages.report",
))
