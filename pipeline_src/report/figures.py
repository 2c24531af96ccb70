"""Figures of the report, each a function of tables: data frames / arrays -> matplotlib Figure.

`save` writes a figure as PNG (for the HTML page) and SVG (for a paper), atomically.
Every figure uses one colour per variant, the same in all figures, from
seaborn's colour-blind-safe palette, and is sized for a paper's text width.
Bands and error bars are Student-t confidence intervals over seeds, the same
intervals as the tables (pipeline_src.report.stats).
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display on a cluster node

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from scipy import stats  # noqa: E402

from pipeline_src.io import atomic_write_bytes  # noqa: E402
from pipeline_src.report.stats import t_quantile  # noqa: E402
from pipeline_src.report.tables import HIGHER_IS_BETTER, LOWER_IS_BETTER  # noqa: E402
from pipeline_src.training import BCE_LOSSES  # noqa: E402
from pipeline_src.training.samples import image_grid  # noqa: E402

PALETTE = "colorblind"  # seaborn's Okabe-Ito-like palette: distinguishable with the common colour-vision deficiencies
TEXT_WIDTH_IN = 7.0  # inches: the text width of a two-column paper; figures are drawn at it
PANEL_IN = 2.3  # inches per panel row/column
GREY = "0.35"


def use_style() -> None:
    sns.set_theme(context="paper", style="whitegrid", palette=PALETTE, font_scale=1.0)
    plt.rcParams.update({
        "svg.hashsalt": "pipeline_src",  # stable SVG element ids: same data, same file
        "savefig.dpi": 150,
        "axes.titlesize": 9,
        "legend.fontsize": 7,
    })


def variant_colours(variants: list[str]) -> dict[str, tuple]:
    """One colour per variant, in params order, shared by every figure."""
    colours = sns.color_palette(PALETTE, n_colors=max(len(variants), 1))
    return {v: colours[i % len(colours)] for i, v in enumerate(variants)}


def save(fig: plt.Figure, folder: Path, name: str) -> dict[str, bytes]:
    """{name}.png and {name}.svg in folder, each written atomically; the figure is closed.
    Returns the bytes written per format (the page embeds the PNG without reading it back)."""
    written = {}
    for fmt, metadata in (("png", {"Software": None}), ("svg", {"Date": None})):
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, metadata=metadata, bbox_inches="tight")
        written[fmt] = buf.getvalue()
        atomic_write_bytes(Path(folder) / f"{name}.{fmt}", written[fmt])
    plt.close(fig)
    return written


def _grid(n: int, ncols: int = 3) -> tuple[plt.Figure, np.ndarray]:
    ncols = max(1, min(ncols, n))
    nrows = max(1, math.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(TEXT_WIDTH_IN, PANEL_IN * nrows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes.flat


def seed_band(logs: pd.DataFrame, column: str, level: float) -> pd.DataFrame:
    """Per (variant, step): mean over seeds of `column` (finite values only), the CI
    half-width (Student t; 0 with one seed) and the number of seeds."""
    finite = logs[np.isfinite(logs[column].astype(float))]
    out = finite.groupby(["variant", "step"])[column].agg(["mean", "std", "count"]).reset_index()
    dof = np.maximum(out["count"].to_numpy() - 1, 1)
    t = t_quantile(level, dof)
    out["half"] = np.where(out["count"] > 1, t * out["std"].fillna(0) / np.sqrt(out["count"]), 0.0)
    return out


def _band(ax, band: pd.DataFrame, colour, label: str, linestyle: str = "-") -> None:
    ax.plot(band["step"], band["mean"], color=colour, label=label, linestyle=linestyle, linewidth=1.2)
    ax.fill_between(band["step"], band["mean"] - band["half"], band["mean"] + band["half"], color=colour,
                    alpha=0.25, linewidth=0)


def _legend_below(fig: plt.Figure, ax) -> None:
    """One legend for all panels, under them (bbox_inches="tight" keeps it in the file)."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=len(labels), frameon=False)


def loss_curves(logs: pd.DataFrame, losses: dict[str, str], level: float = 0.95) -> plt.Figure:
    """One panel per variant: D's and G's loss against the generator step, mean over seeds with a band."""
    variants = list(losses)
    fig, axes = _grid(len(variants))
    d_colour, g_colour = sns.color_palette(PALETTE, 2)
    bands = {c: seed_band(logs, c, level) for c in ("loss_d", "loss_g")}
    for ax, variant in zip(axes, variants):
        for column, colour, label in (("loss_d", d_colour, "D loss"), ("loss_g", g_colour, "G loss")):
            _band(ax, bands[column][bands[column]["variant"] == variant], colour, label)
        ax.set_title(f"{variant}\n({losses[variant]})")
        ax.set_xlabel("generator step")
        ax.set_ylabel("loss (nats)" if losses[variant] in BCE_LOSSES else "loss (critic units)")
    _legend_below(fig, axes[0])
    fig.suptitle(f"Training losses: mean over seeds, band = {level:.0%} CI", fontsize=10)
    fig.tight_layout()
    return fig


def discriminator_outputs(logs: pd.DataFrame, losses: dict[str, str], level: float = 0.95) -> plt.Figure:
    """One panel per variant: mean D(x) on training batches, D on held-out real data and D(G(z))
    against the step; the 1/2 equilibrium of Goodfellow et al. 2014 as a dotted line where D's
    output is a probability. D(x) pulling away from the held-out line is D memorising its data."""
    variants = list(losses)
    fig, axes = _grid(len(variants))
    real_colour, fake_colour = sns.color_palette(PALETTE, 4)[2:4]
    bands = {c: seed_band(logs, c, level) for c in ("d_real", "d_heldout", "d_fake")}
    for ax, variant in zip(axes, variants):
        _band(ax, bands["d_real"][bands["d_real"]["variant"] == variant], real_colour, "D(x), training batches")
        _band(ax, bands["d_heldout"][bands["d_heldout"]["variant"] == variant], real_colour, "D(x), held-out", "-.")
        _band(ax, bands["d_fake"][bands["d_fake"]["variant"] == variant], fake_colour, "D(G(z))", "--")
        if losses[variant] in BCE_LOSSES:
            ax.axhline(0.5, color=GREY, linestyle=":", linewidth=1, label="equilibrium 1/2")
            ax.set_ylim(-0.02, 1.02)
            ax.set_ylabel("mean D output (probability)")
            ax.set_title(f"{variant}\n({losses[variant]})")
        else:
            ax.set_ylabel("mean D output (raw score)")
            ax.set_title(f"{variant}\n({losses[variant]}: no 1/2 equilibrium)")
        ax.set_xlabel("generator step")
    _legend_below(fig, axes[0])
    fig.suptitle(f"Discriminator outputs: mean over seeds, band = {level:.0%} CI", fontsize=10)
    fig.tight_layout()
    return fig


def metric_intervals(summary: pd.DataFrame, baseline: pd.DataFrame, metrics: list[str],
                     colours: dict[str, tuple]) -> plt.Figure:
    """One panel per metric: each variant's mean with its CI over seeds (error bar), and the
    real-vs-real baseline of each dataset as a grey diamond."""
    fig, axes = _grid(len(metrics), ncols=2)
    for ax, metric in zip(axes, metrics):
        rows = summary[summary[metric].notna()] if metric in summary else summary.iloc[0:0]
        labels = []
        for i, (_, row) in enumerate(rows.iterrows()):
            ci = row.get(f"{metric}_ci")
            ci = 0.0 if ci is None or pd.isna(ci) else float(ci)
            ax.errorbar(row[metric], i, xerr=ci, fmt="o", color=colours[row["variant"]], capsize=3, markersize=4)
            labels.append(row["variant"])
        if metric in baseline:
            for _, row in baseline[baseline[metric].notna()].iterrows():
                ax.plot(row[metric], len(labels), marker="D", color=GREY, markersize=4)
                labels.append(f"real: {row['dataset']}")
        ax.set_yticks(range(len(labels)), labels)
        ax.set_ylim(len(labels) - 0.5, -0.5)  # first variant on top
        direction = " (lower is better)" if metric in LOWER_IS_BETTER else (
            " (higher is better)" if metric in HIGHER_IS_BETTER else "")
        ax.set_xlabel(metric + direction)
    fig.suptitle("Metrics: mean over seeds with CI; grey diamonds: real-vs-real baseline", fontsize=10)
    fig.tight_layout()
    return fig


def selection_curves(steps: pd.DataFrame, chosen: pd.DataFrame, datasets: dict[str, str], colours: dict,
                     level: float = 0.95) -> plt.Figure:
    """One panel per dataset: the selection score of every saved G against its step per variant
    (mean over seeds, CI band); markers at the (step, score) each seed's metrics come from."""
    names = list(dict.fromkeys(datasets.values()))
    fig, axes = _grid(len(names))
    scored = steps[np.isfinite(steps["score"].astype(float))]
    for ax, dataset in zip(axes, names):
        mine = [v for v, d in datasets.items() if d == dataset]
        frame = scored[scored["variant"].isin(mine)]
        band = seed_band(frame, "score", level)
        picked = frame.merge(chosen, on=["variant", "seed", "step"])
        for variant in mine:
            _band(ax, band[band["variant"] == variant], colours[variant], variant)
            points = picked[picked["variant"] == variant]
            ax.plot(points["step"], points["score"], "o", color=colours[variant], markersize=4,
                    markeredgecolor="black", markeredgewidth=0.5)
        metric = ", ".join(dict.fromkeys(frame["metric"])) or "no score"
        ax.set_title(dataset)
        ax.set_xlabel("generator step")
        ax.set_ylabel({"fd_classifier": "FD_classifier", "sliced_w1": "sliced W1 (data units)",
                       "mode_js": "JS of the mode histograms (nats)"}.get(metric, metric))
        ax.legend(fontsize=7, frameon=False)
    fig.suptitle(f"Selection score of the saved generators: mean over seeds, band = {level:.0%} CI; "
                 "markers: evaluated G", fontsize=10)
    fig.tight_layout()
    return fig


def sample_panels(dataset: str, kind: str, real: np.ndarray, generated: dict[str, np.ndarray],
                  colours: dict[str, tuple], truth: dict) -> plt.Figure:
    """Real data beside each variant's samples. Images: grids (uint8 NCHW). 2-D points: scatter
    over the true modes, circles of radius `hq_sigmas` sigma. 1-D: histogram over the true density."""
    panels = [("real data", real, GREY)] + [(v, x, colours[v]) for v, x in generated.items()]
    fig, axes = _grid(len(panels), ncols=min(4, len(panels)))
    for ax, (title, x, colour) in zip(axes, panels):
        ax.set_title(title)
        if kind == "image":
            grid = image_grid(x)
            ax.imshow(grid, cmap="gray" if grid.ndim == 2 else None, vmin=0, vmax=255, interpolation="nearest")
            ax.set_axis_off()
        elif x.shape[1] == 1:
            lo, hi = truth["mean"] - 5 * truth["std"], truth["mean"] + 5 * truth["std"]
            finite = x[np.isfinite(x[:, 0]), 0]
            ax.hist(np.clip(finite, lo, hi), bins=60, range=(lo, hi), density=True, color=colour, alpha=0.7)
            grid_x = np.linspace(lo, hi, 400)
            ax.plot(grid_x, stats.norm.pdf(grid_x, truth["mean"], truth["std"]), color="black", linewidth=1,
                    label=f"N({truth['mean']:g}, {truth['std']:g})")
            ax.set_xlabel("x")
            ax.set_ylabel("density")
            ax.legend(loc="upper right")
        else:
            centres, radius = truth["centres"], truth["hq_sigmas"] * truth["sigma"]
            ax.scatter(x[:, 0], x[:, 1], s=1.5, color=colour, alpha=0.5, linewidths=0)
            for cx, cy in centres:
                ax.add_patch(plt.Circle((cx, cy), radius, fill=False, color="black", linewidth=0.6))
            pad = 0.3 * float(np.ptp(centres)) if len(centres) > 1 else 1.0
            ax.set_xlim(centres[:, 0].min() - pad, centres[:, 0].max() + pad)
            ax.set_ylim(centres[:, 1].min() - pad, centres[:, 1].max() + pad)
            ax.set_aspect("equal")
            ax.set_xlabel("x1")
            ax.set_ylabel("x2")
    if kind == "image":
        what = f"{len(real)} test images; {len(next(iter(generated.values()), []))} samples per variant"
    else:
        what = "test points; samples per variant" + (
            " over the target density" if real.shape[1] == 1 else "; circles: the true modes, high-quality radius")
    what += " (first seed, one fixed z)"
    fig.suptitle(f"{dataset}: {what}", fontsize=10)
    fig.tight_layout()
    return fig


def diagnostics_heatmap(flags: pd.DataFrame) -> plt.Figure:
    """Rows: variants; columns: failure modes; colour: the share of seeds that raised it,
    annotated k/n; grey 'n/a' where the check does not apply (e.g. saturation of WGAN-GP).
    `flags` has columns variant, flag, raised (int), checked (int: seeds where it applies)."""
    table = flags.pivot(index="variant", columns="flag", values="raised")
    checked = flags.pivot(index="variant", columns="flag", values="checked")
    order_rows = list(dict.fromkeys(flags["variant"]))
    order_cols = list(dict.fromkeys(flags["flag"]))
    table, checked = table.loc[order_rows, order_cols], checked.loc[order_rows, order_cols]
    share = (table / checked.where(checked > 0)).astype(float)
    annot = np.where(checked > 0, table.astype(int).astype(str) + "/" + checked.astype(int).astype(str), "n/a")
    height = max(1.6, 0.35 * len(order_rows) + 1.0)
    fig, ax = plt.subplots(figsize=(min(TEXT_WIDTH_IN, 1.3 * len(order_cols) + 2.5), height))
    sns.heatmap(share, mask=share.isna(), annot=annot, fmt="", vmin=0, vmax=1, cmap="rocket_r", cbar=True,
                cbar_kws={"label": "share of seeds flagged"}, linewidths=0.5, linecolor="white", ax=ax)
    for (i, j), text in np.ndenumerate(annot):
        if text == "n/a":  # masked cells get no annotation from seaborn
            ax.text(j + 0.5, i + 0.5, "n/a", ha="center", va="center", fontsize=7, color=GREY)
    ax.set_facecolor("0.92")
    ax.grid(False)
    ax.set_xlabel("failure mode")
    ax.set_ylabel("")
    ax.set_title("Training diagnostics: seeds flagged / seeds checked", fontsize=10)
    fig.tight_layout()
    return fig
