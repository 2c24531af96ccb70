"""`sample` (images or points of a trained G) and `export` (a prepared split as PNG files) on a tiny
finished run: the files decode, in the right number and size; a missing or foreign run, a step
without a snapshot and a non-empty --outdir are refused by name with exit code 2."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from tests.conftest import tiny_params, write_params
from tests.pipeline.test_evaluate import evaluate_image_run, image_run
from tests.pipeline.test_train import prepared, train


@pytest.fixture
def digits_run(tmp_path, run_stage):
    """ns_mlp_digits seed 0, trained (snapshot at step 10, last G at step 20) and evaluated."""
    ws = image_run(run_stage, tmp_path, tiny_params())
    evaluate_image_run(run_stage, ws)
    return ws


def pngs(folder) -> list[Image.Image]:
    return [Image.open(p) for p in sorted(folder.iterdir())]


def test_sample_writes_one_png_per_image_and_a_grid(digits_run, run_stage):
    ws = digits_run
    run_stage(ws, "sample", "--variant", "ns_mlp_digits", "--seed", "0", "--n", "10", "--outdir", "out")
    images = pngs(ws / "out")
    assert [p.name for p in sorted((ws / "out").iterdir())] == [f"{i:06d}.png" for i in range(10)]
    assert all(im.size == (8, 8) and im.mode == "L" for im in images)  # the digits' side, one channel
    assert len({im.tobytes() for im in images}) > 1  # ten samples, not one image ten times
    run_stage(ws, "sample", "--variant", "ns_mlp_digits", "--seed", "0", "--checkpoint", "last", "--grid", "g.png")
    assert Image.open(ws / "g.png").size[0] > 8 * 8  # 64 images, 8 per row


def test_sample_takes_the_g_it_is_asked_for_and_the_z_seed_fixes_the_samples(digits_run, run_stage):
    ws = digits_run
    chosen = json.loads((ws / "results/metrics/ns_mlp_digits/seed0.json").read_text())["step"]

    def sample(folder, *extra):
        result = run_stage(ws, "sample", "--variant", "ns_mlp_digits", "--seed", "0", "--n", "4", "--outdir", folder,
                           *extra)
        return result.stderr.strip().splitlines()[-1], [im.tobytes() for im in pngs(ws / folder)]

    line, best = sample("best")
    assert f"step {chosen}" in line
    assert "step 10 " in sample("ten", "--checkpoint", "10")[0]
    assert "step 20 " in sample("last", "--checkpoint", "last")[0]
    assert sample("again")[1] == best  # the same z seed: the same images
    assert sample("other", "--z-seed", "1")[1] != best


def test_sample_refuses_a_missing_or_foreign_run_and_an_unsaved_step(digits_run, run_stage):
    ws = digits_run
    base = ["sample", "--variant", "ns_mlp_digits", "--grid", "g.png"]
    result = run_stage(ws, *base, "--seed", "0", "--checkpoint", "15", check=False)
    assert result.returncode == 2 and "no G saved at step 15" in result.stderr and "snapshots at steps 10" in result.stderr
    result = run_stage(ws, *base, "--seed", "5", check=False)
    assert result.returncode == 2 and "results/metrics/ns_mlp_digits/seed5.json: missing" in result.stderr
    params = tiny_params()
    params["variants"]["ns_mlp_digits"]["lr_g"] = 0.123  # params.yaml now describes another run
    write_params(ws, params)
    result = run_stage(ws, *base, "--seed", "0", "--checkpoint", "last", check=False)
    assert result.returncode == 2 and "generator.pt: written for another generator" in result.stderr
    assert not (ws / "g.png").exists()


def test_sample_of_point_data_writes_csv_rows_and_a_scatter(tmp_path, run_stage):
    ws = prepared(run_stage, tmp_path, tiny_params(), "ring8")
    train(run_stage, ws, "ns_toy_ring8")
    run_stage(ws, "sample", "--variant", "ns_toy_ring8", "--seed", "0", "--checkpoint", "last", "--n", "7",
              "--outdir", "points")
    rows = np.loadtxt(ws / "points/samples.csv", delimiter=",", skiprows=1)
    assert (ws / "points/samples.csv").read_text().startswith("x1,x2\n") and rows.shape == (7, 2)
    run_stage(ws, "sample", "--variant", "ns_toy_ring8", "--seed", "0", "--checkpoint", "last", "--grid", "s.png")
    assert Image.open(ws / "s.png").format == "PNG"


def test_export_writes_the_split_as_pngs_and_refuses_points_and_a_used_folder(digits_run, run_stage):
    ws = digits_run
    run_stage(ws, "export", "--dataset", "digits", "--split", "test", "--outdir", "real")
    images = pngs(ws / "real")
    x = torch.load(ws / "results/data/digits/test.pt", weights_only=True)["x"]
    assert len(images) == len(x) and all(im.size == (8, 8) for im in images)
    assert np.array_equal(np.asarray(images[3]), x[3, 0].numpy())  # the stored pixels, unchanged
    result = run_stage(ws, "export", "--dataset", "digits", "--outdir", "real", check=False)
    assert result.returncode == 2 and "exists and is not an empty folder" in result.stderr
    for stage in ("download", "prepare"):
        run_stage(ws, stage, "--dataset", "ring8")
    result = run_stage(ws, "export", "--dataset", "ring8", "--outdir", "ring", check=False)
    assert result.returncode == 2 and "ring8 is point data" in result.stderr and not (ws / "ring").exists()
