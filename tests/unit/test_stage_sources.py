"""A stage's sources are read from the import graph, so an edit of any module a stage runs
re-runs that stage under both drivers; hand-kept lists had drifted from the imports."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from pipeline_src import stages
from pipeline_src.params import load_params
from pipeline_src.stages import STAGES, import_closure
from pipeline_src.stages.common import job_options
from tests.conftest import REPO


def test_imports_inside_functions_and_from_packages_are_followed(tmp_path, monkeypatch):
    package = tmp_path / "pipeline_src"
    (package / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "__version__ = '1'\n",
        "stage.py": "import pipeline_src\n\ndef run():\n    from pipeline_src.sub import helper\n    return helper.x\n",
        "sub/__init__.py": "from pipeline_src import base\n",  # runs before sub.helper
        "base.py": "",
        "sub/helper.py": "from pipeline_src import leaf\nfrom . import sibling\nx = leaf.y\n",
        "sub/sibling.py": "",
        "leaf.py": "y = 1\n",
        "unused.py": "z = 2\n",
    }
    for name, text in files.items():
        (package / name).write_text(text)
    monkeypatch.setattr(stages, "_PACKAGE_PARENT", tmp_path)
    import_closure.cache_clear()
    try:
        found = import_closure("pipeline_src.stage")
    finally:
        import_closure.cache_clear()
    # the function-level import (the kind a hand-kept list missed), the package around it and what
    # that package's __init__ imports, what the module imports (relative imports too); not the bare package (its version
    # string) and not a module nobody imports
    assert found == ("pipeline_src/base.py", "pipeline_src/leaf.py", "pipeline_src/stage.py",
                     "pipeline_src/sub/__init__.py", "pipeline_src/sub/helper.py", "pipeline_src/sub/sibling.py")


def loaded_modules(*modules: str) -> set[str]:
    """The files of this package that importing `modules` (and params) loads, but for the package
    and the registry, which are no sources (see pipeline_src/stages)."""
    code = textwrap.dedent(f"""
        import sys, importlib, pipeline_src.params
        for module in {list(modules)!r}:
            importlib.import_module(module)
        print("\\n".join(m.__file__ for n, m in sys.modules.items() if n.startswith("pipeline_src") and m.__file__))
    """)
    loaded = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                            check=True).stdout.split()
    registry = {"pipeline_src/__init__.py", "pipeline_src/stages/__init__.py"}
    return {str(Path(f).resolve().relative_to(REPO)) for f in loaded} - registry


def test_every_module_a_stage_loads_is_one_of_its_sources():
    """The running import graph checks the static one: every module of the package in
    sys.modules after importing the stage (and what it loads on demand) is a source."""
    for name, stage in STAGES.items():
        rel = loaded_modules(stage.module, *stage.on_demand)
        assert rel <= set(stage.sources), (name, sorted(rel - set(stage.sources)))


def test_the_metric_code_is_a_source_of_the_runs_that_stop_early_only():
    """Train loads the selection score by name when a run stops early: under Snakemake an edit of the
    metric code re-runs those runs, not the others (dvc.yaml, which cannot tell them apart, lists it
    for all)."""
    train = STAGES["train"]
    params = load_params(REPO / "params.yaml")
    off = job_options("train", params, "ns_mlp_digits-0")
    params["variants"]["ns_mlp_digits"]["early_stop"] = {"patience": 3, "min_delta": 0.0, "target": None}
    on = job_options("train", params, "ns_mlp_digits-0")
    metric_code = {"pipeline_src/selection.py", "pipeline_src/metrics/frechet.py", "pipeline_src/features/inception.py"}
    assert metric_code <= set(train.job_sources(on)) == set(train.sources)
    assert not metric_code & set(train.job_sources(off))
    assert loaded_modules(train.module) <= set(train.job_sources(off))
    assert loaded_modules(train.module, *train.on_demand) <= set(train.job_sources(on))


def test_committed_dvc_yaml_is_the_one_the_stage_table_gives(tmp_path):
    """dvc.yaml is generated from the stage table (`python -m pipeline_src dvc-yaml`); the check
    fails on the committed file once it drifts, and the generator restores it."""
    check = [sys.executable, "-m", "pipeline_src", "dvc-yaml", "--check"]
    assert subprocess.run(check, cwd=REPO, capture_output=True, text=True).returncode == 0
    drifted = tmp_path / "dvc.yaml"
    drifted.write_text((REPO / "dvc.yaml").read_text().replace("      - train.r1_every\n", ""))
    proc = subprocess.run([*check, "--output", str(drifted)], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 1 and "differs from the stage table" in proc.stdout
    subprocess.run([*check[:-1], "--output", str(drifted)], cwd=REPO, check=True, capture_output=True)
    assert drifted.read_text() == (REPO / "dvc.yaml").read_text()
