"""Reading the reference statistics the `reference` stage wrote, for the stages after it."""

from __future__ import annotations

from pathlib import Path

from pipeline_src.errors import InputError
from pipeline_src.io import load_json_file, load_npz_file
from pipeline_src.paths import reference_files


def load_reference(dataset: str, results: Path) -> tuple[dict, dict]:
    """(arrays per extractor {name: {key: array}}, summary) as the reference stage wrote them."""
    files = reference_files(dataset, results)
    if not files["summary"].is_file() or not files["arrays"].is_file():
        raise InputError(f"{files['summary']}: missing; run the reference stage for {dataset} first")
    fix = f"delete results/features/{dataset}/reference.* and rerun reference"
    summary = load_json_file(files["summary"], fix)
    arrays: dict[str, dict] = {}
    for k, array in load_npz_file(files["arrays"], fix).items():
        name, field = k.split(".", 1)
        arrays.setdefault(name, {})[field] = array
    return arrays, summary
