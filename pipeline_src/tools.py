"""Everyday tools beside the stages (no Snakemake rule, no DVC stage):

`python -m pipeline_src sample`: samples of a trained G, as a grid or one file per sample (after
stylegan2-ada's generate.py); `python -m pipeline_src export`: a prepared split as PNG files, the
folders that torch-fidelity's `fidelity` and clean-fid compare.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np

from pipeline_src.errors import InputError
from pipeline_src.io import atomic_dir, atomic_write_bytes, load_json_file
from pipeline_src.paths import RunFiles, prepared_files


def add_sample_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--variant", required=True, help="a key of `variants:` in params.yaml")
    parser.add_argument("--seed", required=True, type=int, help="the run's training seed")
    parser.add_argument("--checkpoint", default="best",
                        help="best (the G evaluate chose: run evaluate first), last, or a snapshot's step "
                             "(default: %(default)s)")
    parser.add_argument("--n", type=int, default=64, help="how many samples (default: %(default)s)")
    parser.add_argument("--z-seed", type=int, default=0, help="seed of the latents z (default: %(default)s)")
    out = parser.add_mutually_exclusive_group(required=True)
    out.add_argument("--grid", help="one PNG: an image grid, or a scatter/histogram for point data")
    out.add_argument("--outdir", help="a new folder: one PNG per image, or samples.csv for point data")


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", required=True, help="a key of `datasets:` in params.yaml")
    parser.add_argument("--split", choices=("train", "test"), default="test", help="(default: %(default)s)")
    parser.add_argument("--outdir", required=True, help="a new folder: one PNG per image")


def _new_folder(path: str) -> Path:
    """--outdir must not hold anything yet: the folder is written whole, and replacing a folder of
    the user's would delete it."""
    folder = Path(path)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise InputError(f"--outdir: {folder} exists and is not an empty folder; name a new one")
    return folder


def _png(image: np.ndarray) -> bytes:
    """(C, H, W) uint8 -> PNG bytes (grayscale for one channel)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)).save(buf, format="PNG")
    return buf.getvalue()


def _write_pngs(folder: Path, images: np.ndarray) -> None:
    """(N, C, H, W) uint8 -> folder/000000.png, 000001.png, ... (the whole folder appears at once)."""
    with atomic_dir(folder) as tmp:
        for i, image in enumerate(images):
            (tmp / f"{i:06d}.png").write_bytes(_png(image))


def _chosen_generator(run: RunFiles, checkpoint: str, expected: dict):
    """G and its record: the one evaluate chose (`best`), the last one, or the snapshot at a step."""
    from pipeline_src.selection import evaluated_file
    from pipeline_src.training.generator import load_generator

    if checkpoint == "last":
        return load_generator(run, expected=expected)
    if checkpoint == "best":
        if not run.metrics.is_file():
            raise InputError(f"{run.metrics}: missing, so the best G is not known yet; run evaluate for this run "
                             f"(python -m pipeline_src evaluate --variant {run.variant} --seed {run.seed}) "
                             "or pass --checkpoint last")
        metrics = load_json_file(run.metrics, f"rerun evaluate for {run.variant} seed {run.seed}")
        return load_generator(run, evaluated_file(run, metrics), expected=expected)
    try:
        step = int(checkpoint)
    except ValueError:
        raise InputError(f"--checkpoint: {checkpoint!r} is not best, last or a step") from None
    g, last = load_generator(run, expected=expected)
    if step == last["step"]:
        return g, last
    if not run.snapshot(step).is_file():
        steps = [p.stem.removeprefix("step_") for p in run.saved_generators() if p != run.generator]
        raise InputError(f"--checkpoint: no G saved at step {step} in {run.folder} (snapshots at steps "
                         f"{', '.join(steps) or 'none'}; the last G at step {last['step']})")
    return load_generator(run, run.snapshot(step), expected=expected)


def sample(args: argparse.Namespace, params: dict) -> None:
    from pipeline_src.datasets.prepared import load_prepared, read_meta
    from pipeline_src.stages.common import fingerprint, job_options, log
    from pipeline_src.training.generator import expected_record, generate, to_uint8
    from pipeline_src.training.samples import image_grid_png, points_png

    if args.n < 1:
        raise InputError(f"--n: {args.n} is not a positive number of samples")
    results = Path(args.results)
    options = job_options("train", params, f"{args.variant}-{args.seed}")  # the run's own: its G must match them
    run = RunFiles(args.variant, args.seed, results)
    meta = read_meta(options["dataset"], results)
    expected = expected_record(options, fingerprint(options, args.seed, meta["sha256"]["train.pt"]))
    g, saved = _chosen_generator(run, args.checkpoint, expected)
    x = generate(g, saved, args.n, args.z_seed)
    what = f"{args.variant} seed {args.seed} step {saved['step']}"
    if args.grid is not None:
        if meta["kind"] == "image":
            data = image_grid_png(x)
        else:
            real, _, _ = load_prepared(options["dataset"], results, "test")
            data = points_png(x.double().numpy(), real.double().numpy(), what)
        atomic_write_bytes(args.grid, data)
        log(f"sample: {args.n} samples of {what} -> {args.grid}")
        return
    folder = _new_folder(args.outdir)
    if meta["kind"] == "image":
        _write_pngs(folder, to_uint8(x).numpy())
    else:
        with atomic_dir(folder) as tmp:
            header = ",".join(f"x{i + 1}" for i in range(x.shape[1]))
            np.savetxt(tmp / "samples.csv", x.numpy(), fmt="%.9g", delimiter=",", header=header, comments="")  # float32: 9 digits
    log(f"sample: {args.n} samples of {what} -> {folder}")


def export(args: argparse.Namespace, params: dict) -> None:
    from pipeline_src.datasets.prepared import load_prepared
    from pipeline_src.stages.common import dataset_options, log

    dataset_options(params, args.dataset)  # a declared dataset, or exit 2 naming the declared ones
    results = Path(args.results)
    x, _, meta = load_prepared(args.dataset, results, args.split)
    if meta["kind"] != "image":
        raise InputError(f"--dataset: {args.dataset} is point data, not images; its {args.split} split is "
                         f"{prepared_files(args.dataset, results)[args.split]}")
    folder = _new_folder(args.outdir)
    _write_pngs(folder, x.numpy())
    log(f"export: {len(x)} images of {args.dataset} ({args.split}) -> {folder}")


TOOLS = {  # verb: (help, arguments, run)
    "sample": ("samples of a trained G: a grid, or one PNG per image (--checkpoint best|last|STEP)",
               add_sample_arguments, sample),
    "export": ("a prepared split of an image dataset as PNG files (for torch-fidelity or clean-fid)",
               add_export_arguments, export),
}
