"""Small helpers every stage shares."""

from __future__ import annotations

import json
import sys
import zlib

import numpy as np

from pipeline_src.errors import InputError


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def print_options(stage: str, options: dict) -> None:
    """Print a stage's resolved options (they are also saved beside its outputs)."""
    log(f"{stage}: resolved options\n{json.dumps(options, indent=2, sort_keys=True)}")


def dataset_options(params: dict, name: str) -> dict:
    try:
        return params["datasets"][name]
    except KeyError:
        declared = ", ".join(params["datasets"])
        raise InputError(f"--dataset: {name!r} is not declared under `datasets` in params.yaml "
                         f"(declared: {declared})") from None


def dataset_rngs(seed: int, name: str, n: int) -> list[np.random.Generator]:
    """n independent generators for one dataset: fixed by (seed, name), independent across names."""
    root = np.random.SeedSequence([seed, zlib.crc32(name.encode())])
    return [np.random.default_rng(s) for s in root.spawn(n)]
