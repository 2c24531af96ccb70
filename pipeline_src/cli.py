"""`python -m pipeline_src <stage> ...`: one subcommand per pipeline stage.

Every stage validates params.yaml first: bad params print one line per
offending key and exit with code 2 before anything is written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline_src import __version__, dvc_yaml
from pipeline_src.errors import InputError
from pipeline_src.params import DEFAULT_PARAMS, load_params
from pipeline_src.paths import RESULTS
from pipeline_src.devices import gpu_for_this_process
from pipeline_src.stages import STAGES, WILDCARDS, Stage
from pipeline_src.stages.common import log, print_options, write_stamp
from pipeline_src.tools import TOOLS


def _with_params_and_results(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--params", default=str(DEFAULT_PARAMS), help="params file (default: %(default)s)")
    parser.add_argument("--results", default=str(RESULTS), help="output root (default: %(default)s)")
    return parser


def build_parser(chosen: str | None = None) -> argparse.ArgumentParser:
    """The CLI; only the `chosen` stage's module is imported for its arguments (None: every
    stage's), so a job does not pay for the imports of the others (torch, matplotlib, ...)."""
    parser = argparse.ArgumentParser(
        prog="python -m pipeline_src",
        description="GAN ablation pipeline. Each stage is one Snakemake rule and one DVC stage of the same name.",
    )
    parser.add_argument("--version", action="version", version=f"pipeline_src {__version__}")
    sub = parser.add_subparsers(dest="stage", metavar="STAGE", required=True)
    check = sub.add_parser("validate", help="check params.yaml against the schema and exit")
    check.add_argument("--params", default=str(DEFAULT_PARAMS), help="params file (default: %(default)s)")
    generate = sub.add_parser("dvc-yaml", help="write dvc.yaml from the stage table (--check: compare only)")
    if chosen in (None, "dvc-yaml"):
        dvc_yaml.add_arguments(generate)
    for verb, (text, arguments, _) in TOOLS.items():
        arguments(_with_params_and_results(sub.add_parser(verb, help=text, description=text)))
    for stage in STAGES.values():
        p = _with_params_and_results(sub.add_parser(stage.name, help=stage.help, description=stage.help))
        if chosen is None or chosen == stage.name:
            stage.load().add_arguments(p)
    return parser


def run_stage(stage: Stage, args: argparse.Namespace, params: dict) -> None:
    """Every stage the same way: its job's resolved options printed and recorded in its params
    stamp (before any output), its torch threads set (CPU results depend on them, so the driver
    must not), a GPU of its own claimed when it runs on CUDA (before torch initialises CUDA),
    then the stage."""
    wildcards = {w: getattr(args, w) for w in WILDCARDS[stage.per]}
    name = stage.job_name(**wildcards)
    options = stage.options(params, name)
    print_options(stage.name, {**wildcards, "options": options})
    write_stamp(stage.name, name, options, Path(args.results))
    threads = stage.threads(options)
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    with gpu_for_this_process(stage.device(options, name)) as gpu:
        if gpu is not None:
            log(f"{stage.name}: using GPU {gpu}")
        stage.load().run(args, params)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    chosen = next((a for a in argv if not a.startswith("-")), None)  # the subcommand comes first
    args = build_parser(chosen).parse_args(argv)
    if args.stage == "dvc-yaml":  # reads the stage table, not params.yaml
        return dvc_yaml.main(args)
    try:
        params = load_params(args.params)
        if args.stage == "validate":
            print(f"{args.params}: valid ({len(params['datasets'])} datasets, {len(params['variants'])} variants)")
            return 0
        if args.stage in TOOLS:
            TOOLS[args.stage][2](args, params)
        else:
            run_stage(STAGES[args.stage], args, params)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except OSError as e:  # the machine, not the input: disk full, permissions, ...
        message = e.strerror or str(e)
        if e.filename and str(e.filename) not in message:
            message = f"{e.filename}: {message}"
        print(f"error: {message}", file=sys.stderr)
        return 1
    return 0
