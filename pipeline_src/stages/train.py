"""Stage `train`: one (variant, seed) -> results/runs/{variant}/seed{seed}/.

Outputs: checkpoint.pt (full state), generator.pt (the last weights, with what
it takes to rebuild the network), snapshots/step_{k}.pt (the same record every
`snapshot_every` steps: `evaluate` scores them and keeps the best), log.csv,
samples/ (step_{k}.png and final.png), diagnostics.json, scores.csv, options.json. With
`early_stop` on, each snapshot is scored as evaluate scores it (the score is saved in the
snapshot and in scores.csv) and the run ends once the score stops improving or reaches its
target. While it runs, a resumable
checkpoint lives in .resume/ (not a declared output, so neither driver deletes
it before a rerun): a killed run started again continues from it and ends
with the weights an uninterrupted run would have. SIGTERM (what Slurm sends
before the time limit) writes that checkpoint, then exits with code 143.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import io
import platform
import shutil
import signal
import sys
from pathlib import Path

import numpy as np
import torch

import pipeline_src
from pipeline_src import progress
from pipeline_src.datasets.prepared import load_prepared, to_unit_range
from pipeline_src.devices import resolve_device
from pipeline_src.errors import InputError
from pipeline_src.io import (append_line, atomic_write_bytes, atomic_write_json, atomic_write_lines, load_torch_file,
                             torch_bytes)
from pipeline_src.paths import RESULTS, RunFiles
from pipeline_src.stages.common import fingerprint, job_options, log
from pipeline_src.training import FAILURE_FLAGS, GENERATOR_OPTIONS, SCORER_MODULE, early_stop_on, resolved_steps, stopping
from pipeline_src.training.diagnostics import diagnose, diversity_ratio
from pipeline_src.training.loop import DIVERGED, EARLY, LOG_FIELDS, STOPPED, Hooks, Trainer
from pipeline_src.training.samples import write_samples

N_FIXED_IMAGES = 64  # the grid of samples/*.png, from one fixed z per run
N_FIXED_POINTS = 2000  # points drawn in samples/*.png for toy data
N_DIVERSITY = 512  # samples compared for the mode-collapse flag
SIGTERM_EXIT = 128 + signal.SIGTERM


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--variant", required=True, help="a key of `variants:` in params.yaml")
    parser.add_argument("--seed", required=True, type=int, help="one of train.seeds")


class Run:
    """Files of one run and the checkpoint/resume protocol around a Trainer."""

    def __init__(self, files: RunFiles, trainer: Trainer, options: dict, print_fn=log):
        self.files = files
        self.trainer = trainer
        self.options = options
        self.log = print_fn

    def save_resume(self, fp: str) -> None:
        atomic_write_bytes(self.files.resume, torch_bytes({"fingerprint": fp, "state": self.trainer.state_dict()}))

    def try_resume(self, fp: str) -> bool:
        """Continue from .resume/checkpoint.pt when it was written for these options and data.

        One written for other options or data (params changed) is replaced by a fresh run,
        with a message. One that cannot be read is refused (exit 2): the pipeline writes it
        atomically, so damage came from outside (a copy cut short, a failing disk), and
        silently throwing away the progress it holds, or using it, would both be wrong.
        """
        if not self.files.resume.is_file():
            return False
        fix = (f"it is not used; delete it to start this run over from step 0 (rm {self.files.resume}), "
               "or put back an intact copy to resume")
        saved = load_torch_file(self.files.resume, fix, map_location="cpu")  # RNG states must stay CPU tensors
        if not isinstance(saved, dict) or not isinstance(saved.get("state"), dict):
            raise InputError(f"{self.files.resume}: not a resumable checkpoint of this pipeline; {fix}")
        if saved.get("fingerprint") != fp:
            self.log(f"{self.files.resume}: written for other options or data; starting over")
            return False
        try:
            self.trainer.load_state_dict(saved["state"])
        except (KeyError, RuntimeError, ValueError, TypeError) as e:  # same fingerprint, damaged content
            raise InputError(f"{self.files.resume}: its state does not fit this run "
                             f"({e.__class__.__name__}: {str(e)[:100]}); {fix}") from None
        self.log(f"resuming from step {self.trainer.step} ({self.files.resume})")
        return True

    def restore_last_good(self) -> None:
        saved = torch.load(self.files.resume, weights_only=True, map_location="cpu")  # RNG states must stay CPU tensors
        bad_rows = self.trainer.rows[len(saved["state"]["rows"]):]
        self.trainer.load_state_dict(saved["state"])
        self.trainer.rows.extend(bad_rows)  # keep the rows that showed the divergence


def log_line(row: dict) -> str:
    """One row of log.csv (floats as repr: read back, they are the same numbers)."""
    buf = io.StringIO()
    csv.DictWriter(buf, fieldnames=LOG_FIELDS, lineterminator="").writerow(
        {k: (repr(float(v)) if isinstance(v, float) else v) for k, v in row.items()})
    return buf.getvalue()


def write_log_csv(path: Path, rows: list[dict]) -> None:
    atomic_write_lines(path, [",".join(LOG_FIELDS), *map(log_line, rows)])


def _fixed_z(trainer: Trainer, seed: int) -> torch.Tensor:
    gen = torch.Generator(trainer.device).manual_seed(10_000 + seed)  # apart from the training stream
    n = N_FIXED_IMAGES if trainer.data.dtype == torch.uint8 else N_FIXED_POINTS
    return trainer.sample_z(n, generator=gen)


@torch.no_grad()
def generate(g: torch.nn.Module, z: torch.Tensor) -> torch.Tensor:
    was_training = g.training
    g.eval()  # BatchNorm uses its running statistics; nothing is updated
    out = g(z)
    g.train(was_training)
    return out


def heldout_batch(options: dict, seed: int, results: Path, device: torch.device) -> torch.Tensor | None:
    """A fixed batch of the test split, as large as a training batch (whole packs): what D is shown
    at every log row beside its training batches. None when the split holds less than one pack."""
    x, _, _ = load_prepared(options["dataset"], results, "test")
    n = min(options["batch_size"], len(x)) // options["pack"] * options["pack"]
    if n == 0:
        return None
    pick = torch.randperm(len(x), generator=torch.Generator().manual_seed(30_000 + seed))[:n]  # apart from training's
    return x[pick.sort().values].to(device)


def train(variant: str, seed: int, options: dict, results: Path = RESULTS) -> dict:
    """One run; `options` are its job options (the variant's, and what its early stopping scores with)."""
    files = RunFiles(variant, seed, results)
    data, _, meta = load_prepared(options["dataset"], results)
    files.options.unlink(missing_ok=True)  # the mark of a complete run goes first: a rerun that
    # fails part-way must not leave new files beside an old options.json, as if they were one complete run
    device = resolve_device(options["device"])
    data = data.to(device)
    fp = fingerprint(options, seed, meta["sha256"]["train.pt"])
    # before the trainer, which seeds torch for the networks' init: opening the scorer's extractor must not shift it
    early = (importlib.import_module(SCORER_MODULE).EarlyStopping(options, seed, results, device)
             if early_stop_on(options["early_stop"]) else None)
    trainer = Trainer(options, data, seed, device, heldout=heldout_batch(options, seed, results, device))
    run = Run(files, trainer, options)
    if not run.try_resume(fp):
        shutil.rmtree(files.snapshots, ignore_errors=True)  # a fresh run: no snapshot of another one
        run.save_resume(fp)  # step 0: the last good state always exists
    fixed_z = _fixed_z(trainer, seed)
    real_for_plots = data[:N_FIXED_POINTS].float() if meta["kind"] == "points" else data[:N_FIXED_IMAGES]
    # log.csv and scores.csv grow while the run goes on: from the rows so far (a resumed run's
    # checkpoint holds them, so none is doubled or lost), then a flushed line each
    metric = early.scorer.metric if early else None
    write_log_csv(files.log_csv, trainer.rows)
    stopping.write_scores(files.scores_csv, metric, trainer.scores)

    stop = {"signal": None}
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: stop.update(signal=signum))
    steps, diverged_at = resolved_steps(options, len(data)), None
    options["steps"] = steps  # recorded in options.json

    def snapshot(s: int) -> None:
        record = generator_record(trainer, meta, fp, diverged=False)
        if early is not None:
            record["score"] = early.score(trainer, record)
            append_line(files.scores_csv, stopping.score_line(s, record["score"]["value"]))
        atomic_write_bytes(files.snapshot(s), torch_bytes(record))

    def logged(row: dict) -> None:
        append_line(files.log_csv, log_line(row))
        _report(bar, row, steps)

    try:
        bar = progress.bar(steps, trainer.step)
        hooks = Hooks(
            on_log=logged,
            on_sample=lambda s: write_samples(files.sample(f"step_{s}"), generate(trainer.g, fixed_z),
                                              real_for_plots, f"{variant} seed {seed} step {s}"),
            on_snapshot=snapshot,
            stop_early=lambda s: early is not None and early.reason(trainer) is not None,
            on_checkpoint=lambda s: run.save_resume(fp),
            stop_requested=lambda: stop["signal"] is not None,
        )
        try:
            why = trainer.fit(steps, hooks)
        finally:
            if bar is not None:
                bar.close()
        if why == STOPPED:
            log(f"SIGTERM at step {trainer.step}: checkpoint written to {run.files.resume}; exiting")
            sys.exit(SIGTERM_EXIT)
        reason = stopping.STEPS
        if why == DIVERGED:
            row = trainer.rows[-1]
            diverged_at, reason = row["step"], stopping.DIVERGED
            log(f"step {diverged_at}: non-finite loss (loss_d={row['loss_d']}, loss_g={row['loss_g']}); "
                "stopping and keeping the last good checkpoint")
            run.restore_last_good()
        if why == EARLY:
            reason = early.reason(trainer)
            log(f"step {trainer.step}: early stop ({reason}); scores {[round(v, 6) for _, v in trainer.scores]}")
        # Past the last step, SIGTERM no longer interrupts: writing the outputs takes seconds,
        # and a run killed here would redo the steps since its last periodic checkpoint.
        diagnostics = finish(run, variant, seed, meta, fp, fixed_z, real_for_plots, diverged_at, reason, early)
        if stop["signal"] is not None:
            log("SIGTERM after the last step: the outputs were written first; the run is complete")
        return diagnostics
    finally:
        signal.signal(signal.SIGTERM, previous)


def finish(run: Run, variant: str, seed: int, meta: dict, fp: str, fixed_z: torch.Tensor,
           real_for_plots: torch.Tensor, diverged_at: int | None, reason: str, early) -> dict:
    """The outputs of a run that ended: `reason` is why (stopping.STEPS, PATIENCE, TARGET or DIVERGED)."""
    trainer, options, files = run.trainer, run.options, run.files
    g_eval = trainer.generator_for_eval()
    write_samples(files.sample("final"), generate(g_eval, fixed_z), real_for_plots,
                  f"{variant} seed {seed} step {trainer.step}" + (" (diverged)" if diverged_at else ""))
    diversity = None
    if diverged_at is None:
        gen = torch.Generator(trainer.device).manual_seed(20_000 + seed)
        fake = generate(g_eval, trainer.sample_z(N_DIVERSITY, generator=gen)).float().cpu().numpy()
        idx = torch.randperm(len(trainer.data), generator=torch.Generator().manual_seed(seed))[:N_DIVERSITY]
        real = trainer.data[idx.to(trainer.device)].cpu()
        real = to_unit_range(real).numpy()
        diversity = diversity_ratio(fake[: len(real)], real)
    diagnostics = diagnose(trainer.rows, options["loss"], options["diagnostics"], diverged_at, diversity)
    stopped = {"stop_step": trainer.step, "stop_reason": reason}
    diagnostics.update(stopped)
    atomic_write_json(files.diagnostics, diagnostics)
    write_log_csv(files.log_csv, trainer.rows)
    record = generator_record(trainer, meta, fp, diverged_at is not None)
    record["stop_reason"] = reason
    if early is not None and diverged_at is None:  # the last G is scored too
        record["score"] = early.score(trainer, record)
    stopping.write_scores(files.scores_csv, early.scorer.metric if early else None, trainer.scores)
    atomic_write_bytes(files.generator, torch_bytes(record))
    files.snapshots.mkdir(exist_ok=True)  # a declared output, empty when snapshot_every is 0
    atomic_write_bytes(files.checkpoint, torch_bytes({"fingerprint": fp, "state": trainer.state_dict(),
                                                               "options": options, "seed": seed}))
    atomic_write_json(files.options, {
        "variant": variant, "seed": seed, "options": options, "fingerprint": fp, **stopped,
        "data": {"dataset": options["dataset"], "train.pt sha256": meta["sha256"]["train.pt"]},
        "device": _device_name(trainer.device),
        "versions": {"pipeline_src": pipeline_src.__version__, "torch": torch.__version__,
                     "cuda": torch.version.cuda, "numpy": np.__version__, "python": platform.python_version()},
    })
    shutil.rmtree(run.files.resume.parent, ignore_errors=True)  # finished: nothing to resume
    flags = [k for k in FAILURE_FLAGS if diagnostics.get(k)]
    log(f"train {variant} seed {seed}: {trainer.step} steps in {trainer.wall_s:.1f} s"
        + (f"; flags: {', '.join(flags)}" if flags else "") + f" -> {files.folder}")
    return diagnostics


def generator_record(trainer: Trainer, meta: dict, fp: str, diverged: bool) -> dict:
    """What generator.pt and each snapshot hold: the evaluated weights (EMA if on), what it
    takes to rebuild the network without params.yaml, and the run's fingerprint."""
    options = trainer.options
    return {
        "state_dict": trainer.generator_for_eval().state_dict(),
        "model": options["model"],
        "shape": list(trainer.data.shape[1:]),
        "dataset": options["dataset"],
        "kind": meta["kind"],
        "options": {k: options[k] for k in GENERATOR_OPTIONS},
        "step": trainer.step,
        "fingerprint": fp,
        "ema": trainer.ema is not None,
        "diverged": diverged,
    }


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def _report(bar, row: dict, steps: int) -> None:
    text = (f"loss_d {row['loss_d']:.4f} loss_g {row['loss_g']:.4f} "
            f"D(x) {row['d_real']:.3f} D(G(z)) {row['d_fake']:.3f}")
    if bar is None:
        log(f"step {row['step']}/{steps} {text} {row['images_per_s']} img/s")
    else:
        bar.update(row["step"] - bar.n)
        bar.set_postfix_str(text)


def run(args: argparse.Namespace, params: dict) -> None:
    if args.seed < 0:
        raise InputError(f"--seed: {args.seed} is negative")
    train(args.variant, args.seed, job_options("train", params, f"{args.variant}-{args.seed}"), Path(args.results))
