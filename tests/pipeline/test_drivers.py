"""Snakemake and DVC drive the same stages: same jobs, same commands, same
outputs, byte-identical files; each re-runs only what a change touches."""

from __future__ import annotations

import copy
import json
import re
import shlex
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from pipeline_src.params import load_params
from pipeline_src.paths import RESULTS, params_stamp
from pipeline_src.stages import STAGES
from pipeline_src.stages.common import job_options
from pipeline_src.training import SELECT_KEYS
from tests.conftest import REPO, run, sha256, tiny_params, write_params

LOG_REDIRECT = re.compile(r"\s+2>\s*\S+$")


def snakemake_jobs(ws: Path, *extra: str) -> dict[str, dict]:
    """Jobs of a dry run, keyed 'stage@dataset': {"cmd": ..., "outputs": [...], "inputs": [...]}."""
    proc = run(["snakemake", "--dry-run", "--printshellcmds", "--cores", "1", *extra], cwd=ws)
    jobs: dict[str, dict] = {}
    # a job of a group (a toy run's train and evaluate; a cluster submits each group as one job) is shown indented
    for block in re.split(r"\n(?=\s*(?:localrule|rule) \w+:)", proc.stdout):
        head = re.match(r"\s*(?:localrule|rule) (\w+):", block)
        if not head or head.group(1) == "all":
            continue
        fields = dict(re.findall(r"^\s+(\w+): (.*)$", block, flags=re.M))
        if "wildcards" not in fields:  # one job for the whole sweep (report)
            name = None
        else:
            wildcards = dict(w.split("=") for w in fields["wildcards"].split(", "))
            name = wildcards.get("dataset") or f"{wildcards['variant']}-{wildcards['seed']}"  # DVC's matrix naming
        cmd = re.search(r"^(?:Shell command: )?\s*(python -m .*)$", block, flags=re.M).group(1)
        jobs[head.group(1) if name is None else f"{head.group(1)}@{name}"] = {
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


TIMING = ("wall_s", "images_per_s")  # log.csv columns that measure the machine, not the run


def result_files(ws: Path) -> dict[str, str]:
    """sha256 of every output a driver compares; run files that record timing are compared
    without it (log.csv) or left out (checkpoint.pt carries the log rows)."""
    out = {}
    for p in sorted((ws / "results").rglob("*")):
        rel = str(p.relative_to(ws / "results"))
        if not p.is_file() or rel.startswith(("logs/", ".stamps/", ".cache/")) or p.name in (".snakemake_timestamp", "checkpoint.pt"):
            continue
        if p.name == "log.csv":
            rows = [line.split(",")[:-len(TIMING)] for line in p.read_text().splitlines()]
            out[rel] = str(rows)
        else:
            out[rel] = sha256(p)
    return out


def expected_jobs(params: dict) -> set[str]:
    data = {f"{stage}@{d}" for stage in ("download", "prepare", "classifier", "reference") for d in params["datasets"]}
    runs = {f"{stage}@{v}-{s}" for stage in ("train", "evaluate")
            for v in params["variants"] for s in params["train"]["seeds"]}
    return data | runs | {"weights", "report"}


def expected_cmd(job: str) -> str:
    if job in ("weights", "report"):  # one job each
        return f"python -m pipeline_src {job}"
    stage, name = job.split("@")
    if stage in ("train", "evaluate"):
        variant, seed = name.rsplit("-", 1)
        return f"python -m pipeline_src {stage} --variant {variant} --seed {seed}"
    return f"python -m pipeline_src {stage} --dataset {name}"


def dvc_changed(ws: Path) -> set[str]:
    return set(re.findall(r"^(\S+@\S+|report):", run(["dvc", "status"], cwd=ws).stdout, flags=re.M))


def test_both_drivers_have_a_job_per_dataset_and_per_variant_and_seed(workspace):
    params = tiny_params()
    params["datasets"]["fashion_mnist"] = {"mirrors": ["/usr/share/datasets/fashion-mnist"]}
    write_params(workspace, params)
    expected = expected_jobs(params)
    assert set(snakemake_jobs(workspace)) == expected
    assert set(dvc_stages(workspace)) == expected
    listed = run(["dvc", "stage", "list", "--name-only"], cwd=workspace).stdout.split()
    assert set(listed) == expected


def test_stage_commands_outputs_and_sources_agree_between_drivers(workspace):
    smk, dvc = snakemake_jobs(workspace), dvc_stages(workspace)
    params = load_params(workspace / "params.yaml")
    assert smk.keys() == dvc.keys()
    for job, s in smk.items():
        stage = job.split("@")[0]
        # the same words: each driver quotes the names in its own way (Snakemake only where needed)
        assert shlex.split(s["cmd"]) == shlex.split(dvc[job]["cmd"]) == shlex.split(expected_cmd(job))
        stamp = params_stamp(stage, job.partition("@")[2] or "all")  # a Snakemake input, a DVC output
        assert sorted(s["outputs"] + [str(stamp)]) == dvc[job]["outputs"], job
        # a dry run takes a stamp it would write from a temporary folder: the path ends the same
        assert any(i.endswith(str(stamp.relative_to(RESULTS))) for i in s["inputs"]), job
        code = [d for d in dvc[job]["deps"] if d.startswith("pipeline_src/")]
        assert sorted(code) == sorted(STAGES[stage].sources), f"dvc.yaml deps of {stage} differ from STAGES"
        options = job_options(stage, params, job.partition("@")[2] or "all")
        assert set(STAGES[stage].job_sources(options)) <= set(s["inputs"]), job


def test_dvc_train_stages_track_every_run_option_but_the_seeds():
    """dvc.yaml names train's params one by one (all of `train` would include `seeds`, and a
    new seed would retrain every run): the list must be the schema's run options, every one, and
    the selection settings of `evaluate` that early stopping scores with."""
    schema = yaml.safe_load((REPO / "workflow/schemas/params.schema.yaml").read_text())
    options = set(schema["$defs"]["run_options"]["properties"])
    tracked = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]["train"]["params"]
    assert set(tracked) == ({f"train.{k}" for k in options} | {"variants.${item.variant}"}
                            | {f"evaluate.{k}" for k in SELECT_KEYS})
    assert set(schema["properties"]["train"]["required"]) == options | {"seeds"}  # DVC needs each key present


def test_drivers_build_identical_results_and_rerun_only_what_changed(tmp_path, workspace):
    params = tiny_params()  # two seeds
    params["variants"] = {k: params["variants"][k] for k in ("mm_mlp_digits", "ns_mlp_digits", "ns_toy_ring8")}
    write_params(workspace, params)
    other = tmp_path / "other"
    run(["cp", "-a", str(workspace), str(other)], cwd=tmp_path)

    run(["snakemake", "--cores", "2"], cwd=workspace)
    run(["dvc", "repro"], cwd=other)
    files = result_files(workspace)
    n_runs = len(params["variants"]) * len(params["train"]["seeds"])
    # data: train, test, meta, manifest per dataset + digits.csv.gz; features: classifier.pt,
    # classifier.json, reference.npz, reference.json per dataset, the Inception weights record; runs:
    # 6 files + 2 samples + 1 snapshot
    # + metrics + steps.csv; report: summary.csv, summary.md, comparisons.csv, index.html and PNG + SVG
    # of each figure (losses, discriminator, metrics, selection, diagnostics, samples of digits and ring8)
    assert len(files) == 4 * 4 + 1 + 4 * 4 + 1 + n_runs * 10 + 4 + 2 * 7
    assert files == result_files(other)

    # each driver's own viewer lists the report's figures: snakemake --report (captions from
    # workflow/report/) and dvc plots (offline JSON; every run's log.csv, scores.csv and steps.csv too)
    run(["snakemake", "--report", "smk-report.html"], cwd=workspace)
    bundled = (workspace / "smk-report.html").read_text()
    assert all(name in bundled for name in ("losses.png", "samples_digits.png", "index.html", "summary.csv"))
    plots = json.loads(run(["dvc", "plots", "show", "--json"], cwd=other).stdout)["data"]
    figures = sorted(p for p in files if p.startswith("report/figures/"))
    runs = [(v, s) for v in params["variants"] for s in params["train"]["seeds"]]
    assert ({f"results/{p}" for p in figures} | {f"results/runs/{v}/seed{s}/{f}" for v, s in runs
                                                 for f in ("log.csv", "scores.csv")}
            | {f"results/metrics/{v}/seed{s}.steps.csv" for v, s in runs}) == set(plots)

    # a second run has nothing to do
    assert "Nothing to be done" in run(["snakemake", "--cores", "2", "-n"], cwd=workspace).stdout
    assert "Data and pipelines are up to date" in run(["dvc", "status"], cwd=other).stdout

    # one more seed: that seed's train and evaluate jobs of every variant, and the report
    # (a new DVC stage has no lock entry, so `dvc status` lists its evaluate too)
    more = copy.deepcopy(params)
    more["train"]["seeds"].append(7)
    for ws in (workspace, other):
        write_params(ws, more)
    new_runs = {f"{stage}@{v}-7" for stage in ("train", "evaluate") for v in params["variants"]}
    assert set(snakemake_jobs(workspace)) == new_runs | {"report"}
    assert dvc_changed(other) == new_runs | {"report"}

    # one hyperparameter of one variant: that variant's train and evaluate jobs, every seed,
    # nothing else (`dvc status` lists the stages whose own inputs changed: train; evaluate follows)
    params["variants"]["ns_toy_ring8"]["lr_g"] = 1e-3
    for ws in (workspace, other):
        write_params(ws, params)
    seeds = params["train"]["seeds"]
    ring8_train = {f"train@ns_toy_ring8-{s}" for s in seeds}
    ring8_eval = {f"evaluate@ns_toy_ring8-{s}" for s in seeds}
    assert set(snakemake_jobs(workspace)) == ring8_train | ring8_eval | {"report"}
    assert dvc_changed(other) == ring8_train | {"report"}  # report reads the variants' options

    # one dataset's params: that dataset's jobs. DVC cannot see which dataset a variant uses
    # inside a matrix, so its evaluate stages depend on all of `datasets` (and its train
    # stages on the whole prepared-data folder, once prepare has run).
    params["datasets"]["ring8"]["sigma"] = 0.02
    for ws in (workspace, other):
        write_params(ws, params)
    data_jobs = {"download@ring8", "prepare@ring8"}
    every_eval = {f"evaluate@{v}-{s}" for v in params["variants"] for s in seeds}
    ring8_features = {"classifier@ring8", "reference@ring8"}
    assert set(snakemake_jobs(workspace)) == data_jobs | ring8_features | ring8_train | ring8_eval | {"report"}
    assert dvc_changed(other) == data_jobs | ring8_features | ring8_train | every_eval | {"report"}


def test_numbers_written_1e_3_are_floats_to_both_drivers(tmp_path, workspace):
    """YAML 1.1 (PyYAML, Snakemake's configfile) reads `2e-4` as a string, YAML 1.2 (DVC's ruamel) as a
    float: params.yaml means the same to both, so both train with it and build the same files."""
    params = tiny_params()
    params["datasets"] = {"ring8": params["datasets"]["ring8"]}
    params["variants"] = {"ns_toy_ring8": params["variants"]["ns_toy_ring8"]}
    params["train"]["seeds"] = [0]
    write_params(workspace, params)
    text = (workspace / "params.yaml").read_text()
    assert "  lr_g: 0.0002\n" in text
    (workspace / "params.yaml").write_text(text.replace("  lr_g: 0.0002\n", "  lr_g: 2e-4\n"))
    other = tmp_path / "other"
    run(["cp", "-a", str(workspace), str(other)], cwd=tmp_path)
    run([sys.executable, "-m", "pipeline_src", "validate"], cwd=workspace)
    run(["snakemake", "--cores", "2"], cwd=workspace)
    run(["dvc", "repro"], cwd=other)
    options = json.loads((workspace / "results/runs/ns_toy_ring8/seed0/options.json").read_text())["options"]
    assert options["lr_g"] == 2e-4 and isinstance(options["lr_g"], float)
    assert result_files(workspace) == result_files(other)
    assert "Nothing to be done" in run(["snakemake", "--cores", "2", "-n"], cwd=workspace).stdout


def test_a_new_seeds_files_asked_for_by_name_are_planned(workspace):
    # Snakemake caches directory listings while it builds the DAG: a params stamp written
    # after its folder was listed (a new job's) would look missing to it
    params = tiny_params()
    write_params(workspace, params)
    run(["snakemake", "--cores", "1", "--until", "download"], cwd=workspace)  # writes the stamps of the configured jobs
    params["train"]["seeds"] += [7, 8, 9]
    write_params(workspace, params)
    runs = [(v, s) for v in params["variants"] for s in params["train"]["seeds"]]
    jobs = snakemake_jobs(workspace, *(f"results/metrics/{v}/seed{s}.json" for v, s in runs))
    assert {f"evaluate@{v}-{s}" for v, s in runs} == {name for name in jobs if name.startswith("evaluate@")}


def test_an_evaluation_setting_reruns_evaluate_only(workspace):
    """The number of generated samples: every evaluate job and the report, and neither
    train nor the reference statistics nor the classifier."""
    params = tiny_params()
    params["variants"] = {k: params["variants"][k] for k in ("ns_mlp_digits", "ns_toy_ring8")}
    params["train"]["seeds"] = [0]
    write_params(workspace, params)
    run(["snakemake", "--cores", "2"], cwd=workspace)
    run(["dvc", "commit", "--force"], cwd=workspace)  # adopt Snakemake's outputs into dvc.lock
    params["evaluate"]["n_samples"] = 48
    write_params(workspace, params)
    evaluate_jobs = {"evaluate@ns_mlp_digits-0", "evaluate@ns_toy_ring8-0"}
    assert set(snakemake_jobs(workspace)) == evaluate_jobs | {"report"}
    assert dvc_changed(workspace) == evaluate_jobs  # the report's inputs change once evaluate has run


def test_switching_drivers_never_leaves_stale_results(workspace):
    """Snakemake keeps no record of what `dvc repro` wrote, and DVC none of what Snakemake
    wrote: a params change made under one driver must still re-run under the other."""
    params = tiny_params()
    params["datasets"] = {"ring8": params["datasets"]["ring8"]}
    params["variants"] = {"ns_toy_ring8": params["variants"]["ns_toy_ring8"]}
    params["train"]["seeds"] = [0]
    write_params(workspace, params)
    run(["snakemake", "--cores", "2"], cwd=workspace)  # built with lr_g = 2e-4 (P1)

    changed = {**params, "train": {**params["train"], "lr_g": 1e-3}}
    write_params(workspace, changed)
    run(["dvc", "repro"], cwd=workspace)  # DVC rebuilds with lr_g = 1e-3 (P2)

    write_params(workspace, params)  # back to P1: Snakemake's own records say P1 is built...
    assert set(snakemake_jobs(workspace)) == {"train@ns_toy_ring8-0", "evaluate@ns_toy_ring8-0", "report"}  # P2's
    run(["snakemake", "--cores", "2"], cwd=workspace)
    options = (workspace / "results/runs/ns_toy_ring8/seed0/options.json").read_text()
    assert '"lr_g": 0.0002' in options

    # and DVC, whose lock says P2 for outputs Snakemake just rebuilt with P1, re-runs too
    assert "train@ns_toy_ring8-0" in dvc_changed(workspace)
    assert "Nothing to be done" in run(["snakemake", "--cores", "2", "-n"], cwd=workspace).stdout


def workspace_state(ws: Path) -> dict[str, tuple[bytes, int]]:
    """Content and mtime of every file of the workspace but Snakemake's own folder (its logs and caches)."""
    return {str(p.relative_to(ws)): (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(ws.rglob("*"))
            if p.is_file() and p.relative_to(ws).parts[0] != ".snakemake"}


def test_a_dry_run_changes_nothing_and_still_lists_what_an_edit_reruns(workspace):
    """Edit params.yaml, `snakemake -n` (or `dvc repro --dry`) to see what would run, undo the edit:
    the dry run wrote nothing, so the next run has nothing to do (Snakemake's used to write new
    params stamps)."""
    params = tiny_params()
    params["datasets"] = {"ring8": params["datasets"]["ring8"]}
    params["variants"] = {"ns_toy_ring8": params["variants"]["ns_toy_ring8"]}
    params["train"]["seeds"] = [0]
    write_params(workspace, params)
    run(["snakemake", "--cores", "2"], cwd=workspace)
    edited = copy.deepcopy(params)
    edited["variants"]["ns_toy_ring8"]["lr_g"] = 1e-3
    write_params(workspace, edited)
    before = workspace_state(workspace)
    for flags in (["-n"], ["--dry-run", "--printshellcmds"], ["-np"], ["--summary"]):
        out = run(["snakemake", "--cores", "2", *flags], cwd=workspace).stdout
        assert workspace_state(workspace) == before, flags
        if flags != ["--summary"]:
            assert set(snakemake_jobs(workspace)) == {"train@ns_toy_ring8-0", "evaluate@ns_toy_ring8-0", "report"}, out
    write_params(workspace, params)  # the edit undone
    assert "Nothing to be done" in run(["snakemake", "--cores", "2", "-n"], cwd=workspace).stdout

    run(["dvc", "commit", "--force"], cwd=workspace)  # the same with DVC: adopt the outputs, edit, look, undo
    write_params(workspace, edited)
    before = workspace_state(workspace)
    assert "train@ns_toy_ring8-0" in run(["dvc", "repro", "--dry"], cwd=workspace).stdout
    assert {k: v for k, v in workspace_state(workspace).items() if not k.startswith(".dvc/tmp")} == \
        {k: v for k, v in before.items() if not k.startswith(".dvc/tmp")}
    write_params(workspace, params)
    assert "Data and pipelines are up to date" in run(["dvc", "status"], cwd=workspace).stdout


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
def test_make_demo_runs_the_pipeline(workspace, driver):
    """The README's main command with each driver (on tiny params: the default trains for minutes)."""
    params = tiny_params()
    params["train"]["seeds"] = [0]
    params["variants"] = {k: params["variants"][k] for k in ("ns_mlp_digits", "ns_toy_ring8")}
    write_params(workspace, params)
    (workspace / "requirements").mkdir()
    for name in ("Makefile", "pyproject.toml", "requirements/constraints.txt"):
        shutil.copy2(REPO / name, workspace / name)
    # Use this test session's venv; `-o` keeps make from reinstalling into it.
    (workspace / ".venv").symlink_to(Path(sys.executable).parent.parent)
    run(["make", "-o", ".venv/.installed", "demo", f"DRIVER={driver}"], cwd=workspace)
    for d in params["datasets"]:
        assert (workspace / f"results/data/{d}/meta.json").is_file()
    for v in params["variants"]:
        assert (workspace / f"results/runs/{v}/seed0/generator.pt").is_file()
