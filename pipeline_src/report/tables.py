"""Comparison tables as pure functions of the runs' metrics: runs -> summary -> markdown.

A run is one metrics file (one variant, one seed). The summary has one row
per variant: what distinguishes it, then each metric as the mean over seeds
with the half-width of its 95% confidence interval (Student t, n - 1 degrees
of freedom; none for a single seed), and the number of seeds. A metric that
no seed of a variant could compute is shown with its reason, never as a
blank or a zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pipeline_src.metrics import COUNT, HIGHER, LOWER, METRICS, RUN_KEYS, better_is, is_number
from pipeline_src.report.stats import mean_ci, paired_p
from pipeline_src.training import FAILURE_FLAGS as FLAGS
from pipeline_src.training.stopping import EARLY_REASONS

# Which way is better, for marking the best value of a column (the metric table's directions). The
# others (gauss1d's mean and std: closeness to a target; spreads) are not marked.
LOWER_IS_BETTER, HIGHER_IS_BETTER = better_is(LOWER), better_is(HIGHER)
# No column of their own: the run's keys (the selection is shown by `checkpoint`) and the counts.
BOOKKEEPING = RUN_KEYS | {m.name for m in METRICS.values() if m.better == COUNT}
NOT_APPLICABLE = "not computed for this dataset"  # e.g. image metrics of a toy variant: shown as n/a


def metric_columns(runs: list[dict]) -> list[str]:
    """Metric names in first-seen order: the numeric keys, flags and bookkeeping aside."""
    names: dict[str, None] = {}
    for run in runs:
        for key, value in run.items():
            if key not in BOOKKEEPING and key not in FLAGS and is_number(value):
                names.setdefault(key)
        for key in run.get("unavailable", {}):
            names.setdefault(key)
    return list(names)


def differing_options(variants: dict[str, dict]) -> list[str]:
    """Option keys whose resolved value is not the same for every variant."""
    keys = sorted({k for options in variants.values() for k in options})
    return [k for k in keys if len({repr(options.get(k)) for options in variants.values()}) > 1]


def summarise(runs: list[dict], variants: dict[str, dict], level: float = 0.95) -> pd.DataFrame:
    """One row per variant (in params order): options that differ, n_seeds, per metric
    `{m}` (mean), `{m}_ci` (CI half-width) and `{m}_unavailable` (reason, when no seed has it),
    and per failure flag the number of seeds that raised it."""
    metrics = metric_columns(runs)
    shown = ["dataset", "model", "loss"] + [k for k in differing_options(variants)
                                            if k not in ("dataset", "model", "loss")]
    rows = []
    for variant, options in variants.items():
        mine = [r for r in runs if r["variant"] == variant]
        row: dict = {"variant": variant, **{k: _cell(options.get(k)) for k in shown}, "n_seeds": len(mine),
                     "checkpoint": checkpoint_text(mine)}
        for m in metrics:
            values = [r[m] for r in mine if is_number(r.get(m))]
            if values:
                row[m], row[f"{m}_ci"] = mean_ci(values, level)
                row[f"{m}_n"] = len(values)
            else:
                reasons = sorted({r["unavailable"][m] for r in mine if m in r.get("unavailable", {})})
                row[f"{m}_unavailable"] = "; ".join(reasons) if reasons else NOT_APPLICABLE
        for flag in FLAGS:
            row[flag] = sum(bool(r.get(flag)) for r in mine)
        rows.append(row)
    return pd.DataFrame(rows)


def checkpoint_text(runs: list[dict]) -> str:
    """Which saved G the metrics of a variant's seeds come from: `best (steps 1500, 3000 of 3000)`."""
    if not runs:
        return ""
    kinds = sorted({r.get("checkpoint", "last") for r in runs})
    steps = ", ".join(str(r["step"]) for r in runs)
    last = max(r.get("last_step", r["step"]) for r in runs)
    return f"{'/'.join(kinds)} (step{'s' if len(runs) > 1 else ''} {steps} of {last})"


def flag_counts(runs: list[dict], variants: list[str]) -> pd.DataFrame:
    """Long frame for the diagnostics heat-map: per (variant, failure flag) the seeds that
    raised it and the seeds where it was checked (a flag of None does not apply: e.g.
    saturation of a loss without the 1/2 equilibrium)."""
    rows = []
    for variant in variants:
        mine = [r for r in runs if r["variant"] == variant]
        for flag in FLAGS:
            checked = [r[flag] for r in mine if r.get(flag) is not None]
            rows.append({"variant": variant, "flag": flag, "raised": sum(map(bool, checked)), "checked": len(checked)})
    return pd.DataFrame(rows, columns=["variant", "flag", "raised", "checked"])


DIAGNOSTIC_VALUES = (  # (column, key in diagnostics.json, meaning)
    ("D(x) end", "d_real_end", "mean D(x) over the last part of training (1/2 at equilibrium)"),
    ("D(G(z)) end", "d_fake_end", "mean D(G(z)) over the last part (near 0: D wins, G saturates)"),
    ("oscillation", "oscillation", "std / |mean| of G's loss over the last part"),
    ("diversity", "diversity_ratio", "mean pairwise distance of samples / that of real data (near 0: collapse)"),
    ("diverged at", "diverged_at_step", "first step with a NaN/Inf loss"),
    ("ended at", "stop_step", "the step of the last G: the step budget, an early stop or a diverged run's last good state"),
    ("why", "stop_reason", "steps (the budget ran out), patience or target (train.early_stop), diverged"),
)


def diagnostics_table(diagnostics: dict[tuple[str, int], dict]) -> Table:
    """One row per run: the measured values behind the failure flags, then the flags raised."""
    header = ["variant", "seed"] + [c for c, _, _ in DIAGNOSTIC_VALUES] + ["|grad G| end/start", "flags"]
    rows = []
    for (variant, seed), d in diagnostics.items():
        cells = [variant, str(seed)]
        for _, key, _ in DIAGNOSTIC_VALUES:
            value = d.get(key)
            cells.append("n/a" if value is None else (f"{value:.3g}" if isinstance(value, float) else str(value)))
        grad = d.get("grad_norm_g") or {}
        ratio = (grad["end"] / grad["start"]) if grad.get("start") else None
        cells.append("n/a" if ratio is None or not math.isfinite(ratio) else f"{ratio:.3g}")
        cells.append(", ".join(f for f in FLAGS if d.get(f)) or "none")
        rows.append(cells)
    notes = [f"{c}: {meaning}." for c, _, meaning in DIAGNOSTIC_VALUES]
    notes.append("|grad G| end/start: G's gradient norm at the end over that at the start (vanishing: saturation).")
    return Table("Measured per run from log.csv (diagnostics.json); the thresholds are in params.yaml "
                 "(train.diagnostics).", header, rows, notes=notes)


def stopping_table(diagnostics: dict[tuple[str, int], dict], budgets: dict[tuple[str, int], int]) -> Table:
    """Per variant: the step each run ended at and why, and the generator steps early stopping saved
    over its seeds (`budgets`: each run's step budget)."""
    rows = []
    for variant in dict.fromkeys(v for v, _ in diagnostics):
        runs = {s: d for (v, s), d in diagnostics.items() if v == variant}
        budget = sum(budgets[variant, s] for s in runs)
        saved = sum(budgets[variant, s] - d["stop_step"] for s, d in runs.items() if d["stop_reason"] in EARLY_REASONS)
        rows.append([variant, ", ".join(f"{d['stop_step']} ({d['stop_reason']})" for d in runs.values()),
                     f"{saved} of {budget} ({saved / budget:.0%})"])
    return Table("Early stopping (train.early_stop): where each run ended, seed by seed, and the generator "
                 "steps it saved over all seeds.", ["variant", "ended at (why)", "steps saved"], rows,
                 notes=["Why: steps (the budget ran out), patience (no improvement of the selection score by more "
                        "than min_delta for patience snapshots), target (the score reached it), diverged."])


def best_variants(runs: list[dict]) -> list[dict]:
    """Per dataset (in run order): the variant with the lowest mean selection score over its seeds,
    the score every run's evaluated G has (FD_classifier, mode JS or W1: one metric per dataset)."""
    frame = pd.DataFrame([{k: r.get(k) for k in ("dataset", "variant", "select_metric", "select_score", "select_samples")}
                          for r in runs])
    frame = frame.dropna(subset=["select_score"])
    best = []
    for dataset, group in frame.groupby("dataset", sort=False):
        means = group.groupby("variant", sort=False)["select_score"].agg(["mean", "count"])
        variant = means["mean"].idxmin()
        best.append({"dataset": dataset, "variant": variant, "metric": group["select_metric"].iloc[0],
                     "samples": int(group["select_samples"].iloc[0]), "score": float(means.loc[variant, "mean"]),
                     "seeds": int(means.loc[variant, "count"]), "of": len(means)})
    return best


def _cell(value):
    return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else value


def baseline_rows(references: dict[str, dict]) -> pd.DataFrame:
    """Real-vs-real rows per dataset from each reference.json: the floor of every distance."""
    rows = []
    for dataset, ref in references.items():
        label = (f"{ref['baseline_split']} vs {ref['split']}" if "baseline_split" in ref
                 else f"{ref['split']} split vs the true distribution")
        row = {"variant": f"real data ({label})",
               "dataset": dataset, "n_seeds": 0}
        row.update({k: v for k, v in ref.get("baseline", {}).items() if k not in BOOKKEEPING})
        rows.append(row)
    return pd.DataFrame(rows)


def paired_comparisons(runs: list[dict], pairs: list[tuple[str, str]], level: float = 0.95) -> pd.DataFrame:
    """For each (a, b) and each metric both have: mean of b - a over the seeds both ran,
    its CI half-width and the two-sided paired t-test p-value (NaN below 2 seeds)."""
    rows = []
    by_key = {(r["variant"], r["seed"]): r for r in runs}
    for a, b in pairs:
        seeds = sorted({s for v, s in by_key if v == a} & {s for v, s in by_key if v == b})
        for m in metric_columns([by_key[(v, s)] for v in (a, b) for s in seeds]):
            pairs_ab = [(by_key[(a, s)].get(m), by_key[(b, s)].get(m)) for s in seeds]
            pairs_ab = [(x, y) for x, y in pairs_ab if is_number(x) and is_number(y)]
            if not pairs_ab:
                continue
            xa, xb = np.array(pairs_ab, dtype=np.float64).T
            diff, ci = mean_ci(list(xb - xa), level)
            p = paired_p(xb, xa)
            rows.append({"a": a, "b": b, "metric": m, "n_seeds": len(xa), "mean_a": float(xa.mean()),
                         "mean_b": float(xb.mean()), "diff_b_minus_a": diff, "diff_ci": ci, "p_value": p,
                         "better": _better(m, diff, ci)})
    return pd.DataFrame(rows)


def _better(metric: str, diff: float, ci: float | None) -> str:
    """Which side is better when the CI excludes zero; 'neither (CI covers 0)' otherwise."""
    if metric not in LOWER_IS_BETTER | HIGHER_IS_BETTER:
        return ""
    if ci is None or abs(diff) <= ci:
        return "neither (CI covers 0)"
    b_better = diff < 0 if metric in LOWER_IS_BETTER else diff > 0
    return "b" if b_better else "a"


def format_value(mean: float, ci: float | None) -> str:
    def fmt(x: float) -> str:
        return f"{x:.4g}"
    return fmt(mean) if ci is None or (isinstance(ci, float) and math.isnan(ci)) else f"{fmt(mean)} ± {fmt(ci)}"


@dataclass
class Table:
    """A formatted table: what summary.md and index.html render (cells are text)."""

    caption: str
    header: list[str]
    rows: list[list[str]]
    bold: set[tuple[int, int]] = field(default_factory=set)  # (row, column) of best values
    notes: list[str] = field(default_factory=list)  # lines under the table


def summary_table(summary: pd.DataFrame, level: float = 0.95, baseline: dict | None = None) -> Table:
    """The variant table of one dataset's rows: the options that differ, metrics as mean ± CI
    (best marked), flags k/n; a metric none of the rows can have (n/a) is left out, one that no
    row has (the Inception metrics without weights) is named in one note with the reason, and
    one unavailable for some rows points to a numbered note. `baseline` (a row of
    baseline_rows) is appended as the real-vs-real floor."""
    every = summary_metrics(summary)
    applicable = [m for m in every if not (summary.get(f"{m}_unavailable", pd.Series(dtype=object))
                                           .eq(NOT_APPLICABLE).sum() == len(summary))]
    nowhere = [m for m in applicable if m not in summary or summary[m].isna().all()]
    metrics = [m for m in applicable if m not in nowhere]
    options = [c for c in summary.columns if c not in every and not c.startswith(tuple(f"{m}_" for m in every))
               and c not in FLAGS and c not in ("variant", "dataset", "n_seeds", "checkpoint")]
    # model and loss in columns of their own; the other options that differ between the rows in one
    # column of "key value" pairs, which wraps: a column each made the table wider than the page
    varying = [c for c in options if c not in ("model", "loss") and summary[c].astype(str).nunique() > 1]
    summary = summary.assign(options=[", ".join(f"{c} {_text(row[c])}" for c in varying)
                                      for _, row in summary.iterrows()]) if varying else summary
    lead = (["variant", *(c for c in ("model", "loss") if c in summary), *(["options"] if varying else []), "n_seeds"]
            + (["checkpoint"] if "checkpoint" in summary else []))
    datasets = ", ".join(map(str, dict.fromkeys(summary["dataset"])))
    table = Table(f"{datasets}: mean ± {level:.0%} CI half-width over seeds (Student t); bold: best of the "
                  "column. Unavailable metrics give the reason.", lead + metrics + ["flags"], [])
    best = _best_rows(summary, metrics)
    reasons: dict[str, int] = {}  # reason -> note number: long reasons once, below the table
    for r, (i, row) in enumerate(summary.iterrows()):
        cells = [_text(row[c]) for c in lead]
        for m in metrics:
            if m in row and pd.notna(row.get(m)):
                text = format_value(row[m], row.get(f"{m}_ci"))
                if row.get(f"{m}_n", row["n_seeds"]) < row["n_seeds"]:  # some seeds could not compute it
                    text += f" (n={int(row[f'{m}_n'])})"
                if i in best.get(m, ()):
                    table.bold.add((r, len(cells)))
                cells.append(text)
            else:
                reason = row.get(f"{m}_unavailable")
                if reason == NOT_APPLICABLE:
                    cells.append("n/a")
                else:
                    cells.append(f"unavailable [{reasons.setdefault(reason, len(reasons) + 1)}]")
        flags = [f"{f} {int(row[f])}/{int(row['n_seeds'])}" for f in FLAGS if row.get(f)]
        cells.append(", ".join(flags) or "none")
        table.rows.append(cells)
    if baseline is not None:
        table.rows.append([str(baseline["variant"])] + [""] * (len(lead) - 2) + ["–"]
                          + [format_value(baseline[m], None) if is_number(baseline.get(m)) else "–"
                             for m in metrics] + ["–"])
        table.caption += (" Last row: the same metrics between two real samples, the floor of every distance "
                          "(–: not measured).")
    table.notes = [f"[{k}] unavailable: {reason}" for reason, k in reasons.items()]
    why_nowhere: dict[str, list[str]] = {}  # reason -> the metrics no variant has for it
    for m in nowhere:
        found = summary.get(f"{m}_unavailable", pd.Series(dtype=object)).dropna().unique()
        why_nowhere.setdefault("; ".join(map(str, found)) or "not computed", []).append(m)
    table.notes += [f"Unavailable for every variant: {', '.join(ms)} ({reason})." for reason, ms in why_nowhere.items()]
    if any("n/a" in cells for cells in table.rows):
        table.notes.append("n/a: the metric does not apply to this variant.")
    return table


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else (
        f"{value:g}" if isinstance(value, float) else str(value))


def summary_metrics(summary: pd.DataFrame) -> list[str]:
    """The metric names of a summary frame, in column order."""
    return [m for m in dict.fromkeys(c.removesuffix("_unavailable") for c in summary.columns
                                     if c.endswith("_unavailable") or f"{c}_n" in summary.columns)]


def comparison_table(comparisons: pd.DataFrame) -> Table:
    rows = [[str(r["a"]), str(r["b"]), str(r["metric"]), str(r["n_seeds"]), f"{r['mean_a']:.4g}",
             f"{r['mean_b']:.4g}", format_value(r["diff_b_minus_a"], r["diff_ci"]), f"{r['p_value']:.3g}",
             str(r["better"])] for _, r in comparisons.iterrows()]
    return Table("Paired comparisons (b − a over the seeds both ran; p: paired t-test):",
                 ["a", "b", "metric", "seeds", "mean a", "mean b", "b − a", "p", "better"], rows)


def report_tables(summary: pd.DataFrame, baseline: pd.DataFrame, comparisons: pd.DataFrame,
                  level: float = 0.95) -> list[Table]:
    """The tables of summary.md and index.html, in order; empty ones left out."""
    floors = {row["dataset"]: row for row in baseline.to_dict("records")}
    tables = [summary_table(group, level, floors.get(dataset))
              for dataset, group in summary.groupby("dataset", sort=False)]
    if not comparisons.empty:
        tables.append(comparison_table(comparisons))
    return tables


def to_markdown(tables: list[Table]) -> str:
    """summary.md: each table with its caption above and its notes below; best values in bold."""
    lines: list[str] = []
    for table in tables:
        lines += [table.caption, "", "| " + " | ".join(table.header) + " |", "|" + "---|" * len(table.header)]
        for r, cells in enumerate(table.rows):
            lines.append("| " + " | ".join(f"**{c}**" if (r, j) in table.bold else c
                                           for j, c in enumerate(cells)) + " |")
        for note in table.notes:  # one paragraph each
            lines += ["", note]
        lines.append("")
    return "\n".join(lines)


def _best_rows(summary: pd.DataFrame, metrics: list[str]) -> dict[str, set]:
    best: dict[str, set] = {}
    for m in metrics:
        if m not in summary or m not in LOWER_IS_BETTER | HIGHER_IS_BETTER:
            continue
        for _, group in summary.groupby("dataset"):
            values = group[m].dropna()
            if len(values) < 2:
                continue
            target = values.min() if m in LOWER_IS_BETTER else values.max()
            best.setdefault(m, set()).update(values.index[values == target])
    return best
