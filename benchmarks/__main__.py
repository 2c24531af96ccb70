"""`python -m benchmarks [NAME ...]`: run benchmarks, print a summary, write JSON under benchmarks/results/."""

from __future__ import annotations

import argparse
import importlib
import json
import sys

BENCHMARKS = {
    "frechet": "Fréchet distance, 2048-d: ours vs scipy.linalg.sqrtm (pytorch-fid's formula)",
    "inception": "Inception features, images/s: ours vs torch-fidelity's and pytorch-fid's pipelines",
    "training": "train step images/s: ours vs pytorch/examples DCGAN (needs --examples), DataLoader feed, MLP",
    "pipeline": "no-op re-run of each driver, and one changed variant vs a full run",
    "scaling": "seconds per stage at 1x, 4x, 16x variants, seeds and generated samples",
    "slurm": "a sweep through the Slurm profile on a single-node test cluster, toy runs grouped vs one job each",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("names", nargs="*", choices=[*BENCHMARKS, []], metavar="NAME",
                        help="which to run (default: all): " + "; ".join(f"{k}: {v}" for k, v in BENCHMARKS.items()))
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--examples", help="a checkout of github.com/pytorch/examples (for the DCGAN comparison)")
    parser.add_argument("--quick", action="store_true", help="fewer repeats and images: a smoke run, not for quoting")
    parser.add_argument("--out", help="results folder (default: benchmarks/results)")
    parser.add_argument("--keep", help="pipeline: build the workspace in this new folder and keep it (with a copy of the full run's "
                        "report in report-of-the-full-run/)")
    args = parser.parse_args(argv)
    from benchmarks.common import RESULTS, write_result

    for name in args.names or list(BENCHMARKS):
        result = importlib.import_module(f"benchmarks.{name}").run(args)
        path = write_result(name, result, args.out or RESULTS)
        shown = {k: v for k, v in result.items() if k not in ("machine",)}
        print(f"== {name} -> {path}\n{json.dumps(shown, indent=2, default=str)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
