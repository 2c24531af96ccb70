"""Snakemake and DVC drive the same stages: same jobs, same commands, same
outputs, byte-identical files; each re-runs only what a change touches."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest

from pipeline_src.stages import STAGES
from tests.conftest import REPO, run, sha256, tiny_params, write_params

LOG_REDIRECT = re.compile(r"\s+2>\s*\S+$")


def snakemake_jobs(ws: Path, *extra: str) -> dict[str, dict]:
    """Jobs of a dry run, keyed 'stage@dataset': {"cmd": ..., "outputs": [...], "inputs": [...]}."""
    proc = run(["snakemake", "--dry-run", "--printshellcmds", "--cores", "1", *extra], cwd=ws)
    jobs: dict[str, dict] = {}
    for block in re.split(r"\n(?=(?:localrule|rule) \w+:)", proc.stdout):
        head = re.match(r"(?:localrule|rule) (\w+):", block)
        if not head or head.group(1) == "all":
            continue
        fields = dict(re.findall(r"^\s{4}(\w+): (.*)$", block, flags=re.M))
        dataset = re.search(r"dataset=(\w+)", fields["wildcards"]).group(1)
        cmd = re.search(r"^(?:Shell command: )?\s*(python -m .*)$", block, flags=re.M).group(1)
        jobs[f"{head.group(1)}@{dataset}"] = {
            "cmd": LOG_REDIRECT.sub("", cmd),
            "outputs": sorted(fields["output"].split(", ")),
            "inputs": fields["input"].split(", "),
        }
    return jobs


def dvc_stages(ws: Path) -> dict[str, dict]:
    """Stages as DVC itself parses dvc.yaml (foreach expanded against params.yaml)."""
    from dvc.repo import Repo

    with Repo(str(ws)) as repo:
        return {
            stage.name: {
                "cmd": stage.cmd,
                "outputs": sorted(out.def_path for out in stage.outs),
                "deps": [dep.def_path for dep in stage.deps if not dep.def_path.endswith("params.yaml")],
            }
            for stage in repo.index.stages
        }


def data_files(ws: Path) -> dict[str, str]:
    root = ws / "results/data"
    return {str(p.relative_to(root)): sha256(p) for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != ".snakemake_timestamp"}  # Snakemake's marker, in .dvcignore


def test_both_drivers_have_download_and_prepare_for_every_declared_dataset(workspace):
    params = tiny_params()
    params["datasets"]["fashion_mnist"] = {"mirrors": ["/usr/share/datasets/fashion-mnist"]}
    write_params(workspace, params)
    expected = {f"{stage}@{d}" for stage in ("download", "prepare") for d in params["datasets"]}
    assert set(snakemake_jobs(workspace)) == expected
    assert set(dvc_stages(workspace)) == expected
    listed = run(["dvc", "stage", "list", "--name-only"], cwd=workspace).stdout.split()
    assert set(listed) == expected


def test_stage_commands_outputs_and_sources_agree_between_drivers(workspace):
    smk, dvc = snakemake_jobs(workspace), dvc_stages(workspace)
    assert smk.keys() == dvc.keys()
    for job, s in smk.items():
        stage, dataset = job.split("@")
        assert s["cmd"] == dvc[job]["cmd"] == f"python -m pipeline_src {stage} --dataset {dataset}"
        assert s["outputs"] == dvc[job]["outputs"], job
        code = [d for d in dvc[job]["deps"] if d.startswith("pipeline_src/")]
        assert sorted(code) == sorted(STAGES[stage].sources), f"dvc.yaml deps of {stage} differ from STAGES"
        assert set(STAGES[stage].sources) <= set(s["inputs"]), job


def test_drivers_build_identical_files_and_rerun_only_what_changed(tmp_path, workspace):
    write_params(workspace, tiny_params())
    other = tmp_path / "other"
    run(["cp", "-a", str(workspace), str(other)], cwd=tmp_path)

    run(["snakemake", "--cores", "2"], cwd=workspace)
    run(["dvc", "repro"], cwd=other)
    files = data_files(workspace)
    assert len(files) == 4 * 4 + 1  # per dataset: train, test, meta, manifest; digits.csv.gz
    assert files == data_files(other)

    # a second run has nothing to do
    assert "Nothing to be done" in run(["snakemake", "--cores", "2", "-n"], cwd=workspace).stdout
    assert "Data and pipelines are up to date" in run(["dvc", "status"], cwd=other).stdout

    # an edit of one dataset's params re-runs that dataset's jobs only
    for ws in (workspace, other):
        params = tiny_params()
        params["datasets"]["ring8"]["sigma"] = 0.02
        write_params(ws, params)
    assert set(snakemake_jobs(workspace)) == {"download@ring8", "prepare@ring8"}
    status = run(["dvc", "status"], cwd=other).stdout
    assert {"download@ring8:", "prepare@ring8:"} == set(re.findall(r"^(\S+@\S+:)", status, flags=re.M))

    # an edit of prepare's source re-runs prepare, not download
    for ws in (workspace, other):
        with open(ws / "pipeline_src/datasets/toys.py", "a") as f:
            f.write("\n# edited\n")
    assert set(snakemake_jobs(workspace)) == {"download@ring8"} | {f"prepare@{d}" for d in tiny_params()["datasets"]}
    status = run(["dvc", "status"], cwd=other).stdout
    changed = set(re.findall(r"^(\S+@\S+):", status, flags=re.M))
    assert changed == {"download@ring8"} | {f"prepare@{d}" for d in tiny_params()["datasets"]}


def test_snakemake_refuses_invalid_params_naming_the_key(workspace):
    params = tiny_params()
    params["variants"]["ns_mlp_digits"]["loss"] = "nonsat"
    write_params(workspace, params)
    proc = run(["snakemake", "-n", "--cores", "1"], cwd=workspace, check=False)
    assert proc.returncode != 0
    assert "variants.ns_mlp_digits.loss: 'nonsat' is not one of" in proc.stdout + proc.stderr
    assert not (workspace / "results").exists()


def test_snakemake_refuses_config_overrides_the_stages_would_not_see(workspace):
    proc = run(["snakemake", "-n", "--cores", "1", "--config", "prepare={'seed': 3}"], cwd=workspace, check=False)
    assert proc.returncode != 0
    assert "edit params.yaml instead of passing --config/--configfile" in proc.stdout + proc.stderr


def test_snakemake_lint_finds_nothing_but_the_missing_conda_env(workspace):
    proc = run(["snakemake", "--lint"], cwd=workspace, check=False)
    findings = re.findall(r"^\s{4}\* (.+?):?$", proc.stdout + proc.stderr, flags=re.M)
    assert findings, "expected the lint to run"
    # Deployment is the project's .venv (Makefile), not conda or a container.
    assert set(findings) == {"Specify a conda environment or container for each rule."}


@pytest.mark.parametrize("driver", ["snakemake", "dvc"])
def test_make_demo_runs_the_default_pipeline(workspace, driver):
    """The README's main command, with each driver, on the embedded default params."""
    (workspace / "requirements").mkdir()
    for name in ("Makefile", "pyproject.toml", "requirements/constraints.txt"):
        shutil.copy2(REPO / name, workspace / name)
    # Use this test session's venv; `-o` keeps make from reinstalling into it.
    (workspace / ".venv").symlink_to(Path(sys.executable).parent.parent)
    run(["make", "-o", ".venv/.installed", "demo", f"DRIVER={driver}"], cwd=workspace)
    for d in ("digits", "gauss1d", "ring8", "grid25"):
        assert (workspace / f"results/data/{d}/meta.json").is_file()
