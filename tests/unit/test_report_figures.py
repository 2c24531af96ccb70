"""Report figures and page: the bands are the tables' intervals, grids keep sample order,
flags that do not apply are not counted, the page escapes text and embeds its images."""

import base64

import numpy as np
import pandas as pd
import pytest

from pipeline_src.report import figures
from pipeline_src.report.html import Figure, render
from pipeline_src.report.stats import mean_ci
from pipeline_src.report.tables import Table, flag_counts


def logs(values_by_seed: dict[int, list[float]]) -> pd.DataFrame:
    return pd.DataFrame([{"variant": "v", "seed": s, "step": 10 * (k + 1), "loss_g": x}
                         for s, xs in values_by_seed.items() for k, x in enumerate(xs)])


def test_seed_band_is_the_tables_t_interval():
    band = figures.seed_band(logs({0: [1.0, 2.0], 1: [1.5, 2.5], 2: [2.0, 4.0]}), "loss_g", 0.9)
    for step, column in ((10, [1.0, 1.5, 2.0]), (20, [2.0, 2.5, 4.0])):
        row = band[band.step == step].iloc[0]
        mean, half = mean_ci(column, 0.9)
        assert row["mean"] == pytest.approx(mean) and row["half"] == pytest.approx(half)


def test_seed_band_leaves_out_a_diverged_seed_and_has_no_band_for_one_seed():
    band = figures.seed_band(logs({0: [1.0, float("nan")], 1: [3.0, float("inf")], 2: [2.0, 5.0]}), "loss_g", 0.95)
    last = band[band.step == 20].iloc[0]
    assert last["count"] == 1 and last["mean"] == 5.0 and last["half"] == 0.0
    assert band[band.step == 10].iloc[0]["count"] == 3


def test_image_grid_tiles_samples_row_major_with_white_gaps():
    images = np.stack([np.full((1, 2, 3), k, dtype=np.uint8) for k in range(10)])  # (10, 1, 2, 3)
    grid = figures.image_grid(images, nrow=4)
    assert grid.shape == (3 * 3 + 1, 4 * 4 + 1)  # 3 rows of 4 tiles, 2x3 pixels each, 1-pixel gaps
    assert grid[1, 1] == 0 and grid[1, 5] == 1 and grid[4, 1] == 4 and grid[7, 5] == 9
    assert grid[0, 0] == 255 and grid[7, 9] == 255  # gap, and the empty 11th tile


def test_flag_counts_leave_out_checks_that_do_not_apply():
    runs = [{"variant": "hinge", "seed": s, "diverged": False, "saturated": None, "oscillating": s == 0,
             "mode_collapse": None} for s in range(3)]
    counts = flag_counts(runs, ["hinge"]).set_index("flag")
    assert counts.loc["oscillating", ["raised", "checked"]].tolist() == [1, 3]
    assert counts.loc["saturated", "checked"] == 0  # shown as n/a, not as 0 of 3


def test_page_escapes_text_and_embeds_the_images():
    png = b"\x89PNG fake bytes"
    table = Table("caption <b>", ["variant", "fid"], [["<script>alert(1)</script>", "1 ± 2"]], bold={(0, 1)})
    page = render("t", [table], [Figure("losses", "Losses", "cap & more", png, "figures/losses.svg")],
                  Table("d", ["x"], [["y"]]), {"git commit": "abc"})
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert f"data:image/png;base64,{base64.b64encode(png).decode()}" in page
    assert '<td class="best">1 ± 2</td>' in page and 'href="figures/losses.svg"' in page
