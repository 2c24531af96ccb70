"""Stage `report`: tables, figures and the HTML page over a finished sweep, checked in a real
headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import xml.etree.ElementTree as ET

import pandas as pd
import pytest
from PIL import Image

from tests import browser
from tests.conftest import REPO, stage, tiny_params
from tests.pipeline.test_train import prepared

ARTIFACTS = REPO / "test-artifacts"
FIGURES = {"losses", "discriminator", "metrics", "selection", "samples_digits", "samples_early_digits", "samples_ring8",
           "samples_gauss1d", "diagnostics"}


def test_report_tables_cover_every_variant_and_the_named_comparison(sweep):
    ws, params = sweep
    summary = pd.read_csv(ws / "results/report/summary.csv")
    assert list(summary["variant"]) == list(params["variants"])
    assert set(summary["n_seeds"]) == {2}
    assert summary.set_index("variant").loc["ns_toy_gauss1d", "modes_covered_unavailable"] \
        == "not computed for this dataset"
    assert {"lr_g", "loss"} <= set(summary.columns)  # the options that differ between variants
    # which saved G each seed's metrics come from (tiny sweep: a snapshot at step 10, the last at 20)
    runs = {(v, s): json.loads((ws / f"results/metrics/{v}/seed{s}.json").read_text())
            for v in params["variants"] for s in params["train"]["seeds"]}
    for variant, text in summary.set_index("variant")["checkpoint"].items():
        steps = ", ".join(str(runs[variant, s]["step"]) for s in params["train"]["seeds"])
        assert text == f"best (steps {steps} of 20)"
    comparisons = pd.read_csv(ws / "results/report/comparisons.csv")
    assert set(comparisons["metric"]) >= {"modes_covered", "high_quality"}
    md = (ws / "results/report/summary.md").read_text()
    assert "real data (test split vs the true distribution)" in md and "Paired comparisons" in md
    assert "| checkpoint |" in md.replace("**", "")
    findings = md.split("## Findings beside the literature")[1]
    assert "| ring8 | PacGAN Table 1 | GAN |  | 6.3 ± 0.5 | 98.2% | 0.45 |  |" in findings
    assert "| ring8 | ours | ns_toy_ring8 (non_saturating) | 2 |" in findings


def test_every_figure_is_written_as_png_and_svg(sweep):
    ws, _ = sweep
    folder = ws / "results/report/figures"
    assert {p.stem for p in folder.glob("*.png")} == FIGURES == {p.stem for p in folder.glob("*.svg")}
    for name in FIGURES:
        with Image.open(folder / f"{name}.png") as image:
            assert min(image.size) >= 200  # drawn, not an empty canvas
            assert len(image.convert("L").getcolors(1 << 16) or range(1 << 16)) > 2  # more than a blank page
        assert ET.parse(folder / f"{name}.svg").getroot().tag.endswith("svg")


def test_html_report_renders_in_headless_chromium(sweep):
    if browser.chromium() is None:
        if os.environ.get("CI"):
            pytest.fail("CI must provide chromium (.ci/run installs Debian's chromium)")
        pytest.skip("no chromium on PATH (Debian: apt-get install chromium)")
    ws, params = sweep
    page = ws / "results/report/index.html"
    text = page.read_text()
    assert not re.search(r'(src|href)="(https?:)?//', text)  # opens offline: nothing from the network
    seen = browser.rendered(page)
    datasets = ("digits", "ring8", "gauss1d")  # the summary on top: each one's best variant, with its picture
    assert len(seen["images"]) == len(FIGURES) + len(datasets)
    assert all(i["loaded"] and i["width"] >= 200 for i in seen["images"]), seen["images"]
    assert len(seen["svgs"]) == len(FIGURES) and all(s["loaded"] for s in seen["svgs"]), seen["svgs"]
    tables = {t["id"]: t for t in seen["tables"]}
    assert all(t["rows"] > 0 for t in seen["tables"]), seen["tables"]
    # 1400 pixels wide, nothing scrolls sideways: the options that differ share one wrapping column, and
    # a metric no variant has (Inception without weights) is one line under its table, not a column
    assert seen["width"]["page"] <= seen["width"]["window"] == 1400 and seen["scrolled"] == [], seen["width"]
    assert "fid" not in tables["table-0"]["header"]
    assert "Unavailable for every variant: fid" in text
    # one table per dataset in params order, its variants and the real-vs-real row
    assert [tables[f"table-{i}"]["rows"] for i in range(3)] == [3, 4, 2]
    assert tables["table-diagnostics"]["rows"] == len(params["variants"]) * len(params["train"]["seeds"])
    assert {"git commit", "torch", "seaborn", "training devices"} <= {
        cell for cell in _cells(text, "table-provenance")}
    assert seen["sections"] == ["Summary", "Results", "Findings beside the literature", "Figures",
                                "Diagnostics per run", "Provenance"]
    headlines = re.findall(r'<figure class="headline">.*?<figcaption>(.*?)</figcaption>', text)
    assert [h.split(":")[0] for h in headlines] == list(datasets)
    assert "ring8: " in text and "of 3 variants (mode_js of the evaluated G" in text
    # findings: gauss1d against its target; ring8's published rows above our three variants; the two digits
    # variants learn or not; minimax vs non-saturating; best vs last
    assert [tables[f"table-finding-{i}"]["rows"] for i in range(5)] == [1, 2 + 3, 2, 1, len(params["variants"])]
    shot = browser.screenshot(page, ARTIFACTS / "report-screenshot.png")
    with Image.open(shot) as image:
        assert image.size[0] >= 1000


def _cells(page: str, table_id: str) -> list[str]:
    table = re.search(rf'<table id="{table_id}">(.*?)</table>', page, re.S).group(1)
    return re.findall(r"<td>(.*?)</td>", table)


def test_the_same_inputs_give_the_same_figures(sweep, tmp_path):
    ws, _ = sweep
    copy = tmp_path / "ws"
    shutil.copytree(ws, copy)
    before = {p.name: p.read_bytes() for p in (copy / "results/report/figures").iterdir()}
    stage(copy, "report")
    after = {p.name: p.read_bytes() for p in (copy / "results/report/figures").iterdir()}
    assert before.keys() == after.keys() and all(before[k] == after[k] for k in before)


def test_an_unreadable_log_exits_2_naming_it_and_keeps_the_last_report(sweep, tmp_path, capsys):
    ws, _ = sweep
    copy = tmp_path / "ws"
    shutil.copytree(ws, copy)
    report = {p: p.read_bytes() for p in (copy / "results/report").rglob("*") if p.is_file()}
    log = copy / "results/runs/lr_ring8/seed1/log.csv"
    log.write_text("this is not, a training log\n")
    assert stage(copy, "report", check=False) == 2
    assert "results/runs/lr_ring8/seed1/log.csv: no column" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in (copy / "results/report").rglob("*") if p.is_file()} == report


def test_report_before_evaluate_exits_2_naming_the_file(tmp_path, run_stage):
    params = tiny_params()
    ws = prepared(run_stage, tmp_path, params)
    result = run_stage(ws, "report", check=False)
    assert result.returncode == 2 and "results/metrics/mm_mlp_digits/seed0.json: missing" in result.stderr
    assert not (ws / "results/report").exists()


def test_a_comparison_naming_an_unknown_variant_is_refused(tmp_path, run_stage):
    params = tiny_params()
    params["report"]["comparisons"] = [["mm_mlp_digits", "typo"]]
    ws = prepared(run_stage, tmp_path, params)
    result = run_stage(ws, "report", check=False)
    assert result.returncode == 2 and "report.comparisons.0: 'typo' is not a key of `variants`" in result.stderr
