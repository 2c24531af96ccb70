"""Stage `download`: deliver a dataset's raw files into results/data/{dataset}/raw/.

The folder is built under a temporary name and renamed into place at the end,
with raw/manifest.json listing every file, its checksums and where it came from.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from pipeline_src import datasets
from pipeline_src.datasets.folder import FOLDER_IMAGES, list_images
from pipeline_src.download import FetchOptions, expand_mirrors, fetch
from pipeline_src.io import atomic_dir, atomic_write_json, file_digest
from pipeline_src.paths import RESULTS, manifest_path, raw_dir
from pipeline_src.stages.common import dataset_options, log

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", required=True, help="a key of `datasets:` in params.yaml")


def _copy_folder(name: str, folder: Path, dest: Path) -> dict:
    """Copy a folder dataset's images into raw/images/ (class subfolders kept), so that
    prepare, DVC's cache and a later edit of the folder all see one checksummed snapshot."""
    _, files, _ = list_images(folder, f"datasets.{name}.folder")
    entries = {}
    for path in files:
        rel = (Path(FOLDER_IMAGES) / path.relative_to(folder)).as_posix()
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        entries[rel] = {"source": str(path)}
    return entries


def download(name: str, params: dict, results: Path = RESULTS) -> Path:
    options = dataset_options(params, name)
    spec = datasets.spec_of(name, options)
    out = raw_dir(name, results)
    with atomic_dir(out) as tmp:
        if spec.kind == "points":
            files, note = {}, "synthetic: prepare draws the samples, nothing to download"
        elif datasets.is_folder(options):
            folder = Path(options["folder"])
            files, note = _copy_folder(name, folder, tmp), f"copied from the folder {folder.resolve()}"
        elif spec.fetch is not None:  # the files come from elsewhere than mirrors
            files, note = spec.fetch(tmp)
        else:
            fetch_options = FetchOptions(**params["download"])
            mirrors = expand_mirrors(options["mirrors"], datasets.torchvision_mirrors(spec))
            files, note = {}, "mirrors tried in order: " + ", ".join(mirrors)
            for raw in datasets.pinned_raw_files(name, spec, options):
                source = fetch(raw, mirrors, tmp, fetch_options, log=log)
                files[raw.name] = {"source": source, "md5": raw.md5}
        for fname, entry in files.items():
            entry["sha256"] = file_digest(tmp / fname)
            entry["bytes"] = (tmp / fname).stat().st_size
        atomic_write_json(tmp / manifest_path(name).name, {"dataset": name, "note": note, "files": files,
                                           "options": {"download": params["download"], "dataset": options}})
    log(f"download {name}: {len(files)} file(s) in {out}")
    return out


def run(args: argparse.Namespace, params: dict) -> None:
    download(args.dataset, params, Path(args.results))
