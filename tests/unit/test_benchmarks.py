"""The benchmark entry point runs and writes its JSON (a quick run: the figures are not checked)."""

import json

from benchmarks.__main__ import main


def test_quick_frechet_benchmark_writes_a_result_with_machine_and_agreement(tmp_path, capsys):
    assert main(["frechet", "--quick", "--out", str(tmp_path)]) == 0
    [path] = tmp_path.glob("frechet-cpu-*.json")
    result = json.loads(path.read_text())
    assert {"date", "device_name", "torch", "scipy"} <= set(result["machine"])
    assert result["config"]["dim"] == 256 and result["relative_difference"] < 1e-6
    assert result["ours"]["median_s"] > 0 and result["speedup_vs_sqrtm"] > 0
    assert str(path) in capsys.readouterr().out


def test_inception_variant_measures_speed_and_how_far_features_move(inception_weights):
    import torch

    from benchmarks.inception import variant
    from pipeline_src.features.inception import InceptionExtractor

    ours = InceptionExtractor(inception_weights.path, torch.device("cpu"))
    images = torch.randint(0, 256, (4, 3, 16, 16), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    fp32 = ours(images, 4)
    result = variant(ours, images, 4, torch.device("cpu"), fp32, torch.contiguous_format)
    assert result["images_per_s"] > 0
    # the same arithmetic in another memory layout: float32 rounding apart at most
    assert result["max_pool3_difference_relative"] < 1e-3
    assert 0 <= result["frechet_distance_to_fp32_features"] < 1e-3
    conv = next(p for p in ours.net.parameters() if p.ndim == 4)
    assert conv.is_contiguous(memory_format=torch.channels_last)  # the variant worked on a copy


def test_gpu_peak_figures_are_found_by_device_name_and_absent_for_unknown_devices():
    from benchmarks.inception import peak_tflops

    assert peak_tflops("NVIDIA H200")["bf16"] == 989.4
    assert peak_tflops("NVIDIA H100 PCIe")["fp32"] == 51.2
    assert peak_tflops("Tesla T4") is None
    assert peak_tflops("NVIDIA H200 NVL") is None  # another card with lower peaks, not the H200's figures


def test_examples_commit_is_read_from_a_revision_file_outside_git(tmp_path):
    from benchmarks.training import _git_head

    (tmp_path / "REVISION").write_text("77f55b912142e11fcfdf5b530231fb9c52f181e8\n")
    assert _git_head(tmp_path) == "77f55b912142e11fcfdf5b530231fb9c52f181e8"
    (tmp_path / "REVISION").unlink()
    assert _git_head(tmp_path) is None


def test_a_folder_inside_another_repository_does_not_report_that_repositorys_commit(tmp_path):
    import subprocess
    from pathlib import Path

    from benchmarks.training import _git_head

    root = Path(__file__).resolve().parents[2]  # this project: a git repository
    inside = root / "benchmarks"
    assert subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True).returncode == 0
    assert _git_head(inside) is None


def test_device_check_pins_every_wheel_it_carries_to_the_tested_version():
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    script = root / "benchmarks" / "device_check.sh"
    pins = subprocess.run(["bash", str(script), "pins"], capture_output=True, text=True, check=True).stdout.split()
    constraints = set((root / "requirements" / "constraints.txt").read_text().split())
    assert len(pins) == 7 and set(pins) <= constraints
    usage = subprocess.run(["bash", str(script), "nonsense"], capture_output=True, text=True)
    assert usage.returncode == 2 and "usage:" in usage.stderr


def test_a_second_result_of_the_same_day_does_not_overwrite_the_first(tmp_path):
    from benchmarks.common import machine, write_result

    m = machine()  # one date for both, whatever the clock does in between
    first = write_result("x", {"machine": m, "value": 1}, tmp_path)
    second = write_result("x", {"machine": m, "value": 2}, tmp_path)
    assert second != first and second.name.endswith("-2.json")
    assert json.loads(first.read_text())["value"] == 1 and json.loads(second.read_text())["value"] == 2


SNAKEMAKE_LOG = """Building DAG of jobs...
[Fri Dec  4 17:36:53 2026]
localrule train:
    output: results/runs/v/seed0/checkpoint.pt
    jobid: 2
[Fri Dec  4 17:36:53 2026]
rule train:
    jobid: 3
    threads: 2
[Fri Dec  4 17:37:03 2026]
Finished jobid: 2 (Rule: train)
[Fri Dec  4 17:37:03 2026]
localrule train:
    jobid: 4
[Fri Dec  4 17:37:05 2026]
Finished jobid: 3 (Rule: train)
[Fri Dec  4 17:37:13 2026]
Finished jobid: 4 (Rule: train)
[Fri Dec  4 17:37:13 2026]
localrule all:
    jobid: 0
[Fri Dec  4 17:37:13 2026]
Finished jobid: 0 (Rule: all)
"""


def test_job_timeline_counts_busy_and_idle_core_seconds_with_each_jobs_threads(tmp_path):
    from benchmarks.pipeline import job_timeline

    log = tmp_path / "x.snakemake.log"
    log.write_text(SNAKEMAKE_LOG)
    t = job_timeline(log, cores=4)
    assert [(j["start_s"], j["end_s"], j["threads"]) for j in t["jobs"]] == [(0, 10, 1), (0, 12, 2), (10, 20, 1)]
    # `all` left out; busy: 10 x 1 + 12 x 2 + 10 x 1 core-seconds of 4 cores x 20 s
    assert t["wall_s"] == 20 and t["busy_core_s"] == 44 and t["idle_core_s"] == 36 and t["packed_wall_s"] == 11
