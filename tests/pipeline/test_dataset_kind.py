"""Adding a dataset kind is one module and its registration: a new kind, written into a copy of
the project, runs prepare -> classifier -> reference -> train -> evaluate -> report under
Snakemake with no other file of the project edited."""

from __future__ import annotations

import json
import textwrap

from tests.conftest import PROJECT_FILES, REPO, assert_sweep_complete, run, sha256, tiny_params, write_params

# Synthetic 8x8 images of one bar (two rows, two columns: four classes) on faint noise, drawn from
# the split's generator: nothing to download.
BARS = textwrap.dedent('''
    """`bars`: 8x8 images of one horizontal or vertical bar (four classes), drawn by prepare."""

    import numpy as np

    from pipeline_src.datasets import DatasetSpec, register

    BARS = (("row", 2), ("row", 5), ("column", 2), ("column", 5))


    def draw(n, rng):
        y = rng.integers(0, len(BARS), size=n)
        x = rng.integers(0, 40, size=(n, 1, 8, 8)).astype(np.uint8)
        for i, (axis, k) in enumerate(BARS):
            if axis == "row":
                x[y == i, 0, k, :] = 255
            else:
                x[y == i, 0, :, k] = 255
        return x, y.astype(np.int64)


    def read(raw, options, rng):
        return {"train": draw(options["n_train"], rng), "test": draw(options["n_test"], rng)}


    register(DatasetSpec(
        "bars", "image", "8x8 images of one bar, four classes",
        options={"type": "object", "additionalProperties": False, "properties": {
            "side": {"$ref": "#/$defs/side", "default": 8},
            "resize": {"$ref": "#/$defs/resize", "default": "pad"},
            "n_train": {"$ref": "#/$defs/positive_int", "default": 400},
            "n_test": {"$ref": "#/$defs/positive_int", "default": 100},
        }},
        native_side=8, channels=1, classes=[f"{axis} {k}" for axis, k in BARS],
        fetch=lambda dest: ({}, "drawn by prepare"), read=read,
    ))
''')
REGISTRATION = "from pipeline_src.datasets import bars  # noqa: E402\n"


def project_files(root):
    """sha256 of every file of the project that a driver reads."""
    files = {}
    for name in PROJECT_FILES:
        path = root / name
        for f in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if f.is_file() and "__pycache__" not in f.parts:
                files[str(f.relative_to(root))] = sha256(f)
    return files


def test_a_registered_dataset_kind_runs_through_every_stage(workspace):
    (workspace / "pipeline_src/datasets/bars.py").write_text(BARS)
    registry = workspace / "pipeline_src/datasets/__init__.py"
    registry.write_text(registry.read_text() + REGISTRATION)
    params = tiny_params()
    params["datasets"] = {"bars": {}}
    params["variants"] = {
        "mm_mlp_bars": {"dataset": "bars", "model": "mlp", "loss": "minimax"},
        "ns_dcgan_bars": {"dataset": "bars", "model": "dcgan", "loss": "non_saturating"},
    }
    write_params(workspace, params)

    edited = {"pipeline_src/datasets/bars.py", "pipeline_src/datasets/__init__.py", "params.yaml"}
    mine, repo = project_files(workspace), project_files(REPO)
    assert {f for f in mine.keys() | repo.keys() if mine.get(f) != repo.get(f)} == edited

    run(["snakemake", "--cores", "2"], cwd=workspace)
    assert_sweep_complete(workspace, params)
    meta = json.loads((workspace / "results/data/bars/meta.json").read_text())
    assert meta["shape"] == [1, 8, 8] and meta["n"] == {"train": 400, "test": 100}
    assert meta["classes"] == ["row 2", "row 5", "column 2", "column 5"]
    for variant in params["variants"]:
        metrics = json.loads((workspace / f"results/metrics/{variant}/seed0.json").read_text())
        # scored in the feature space of the kind's own classifier, classes counted by it
        assert metrics["dataset"] == "bars" and metrics["n_classes"] == 4
        assert metrics["fd_classifier"] > 0 and 1 <= metrics["classes_covered"] <= 4
    summary = (workspace / "results/report/summary.csv").read_text()
    assert "mm_mlp_bars" in summary and "ns_dcgan_bars" in summary
