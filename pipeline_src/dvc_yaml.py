"""dvc.yaml, generated from the stage table (pipeline_src/stages): `python -m pipeline_src dvc-yaml`
writes it, `--check` says whether the committed file is the one the table gives. DVC reads the
file itself (its run cache, `dvc repro`, `dvc exp run` need it on disk), so it is committed, and
a test keeps it equal to the table.

One DVC stage per stage: `foreach` over `datasets` for the per-dataset stages, a `matrix` of
variants x seeds for the per-run stages. Each depends on its sources (read from the import graph),
the files it reads and its own params keys; its first output is its params stamp
(results/.stamps/{stage}/{name}.json), which the stage writes before anything else and the
Snakefile compares with params.yaml. As an output, DVC restores it with the others (from its run
cache too), so the stamp always describes the outputs beside it, whichever driver wrote them.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from pipeline_src.io import atomic_write_bytes
from pipeline_src.paths import params_stamp
from pipeline_src.stages import DVC_WILDCARDS, PER_DATASET, PER_RUN, STAGES, WILDCARDS, Stage

PATH = Path("dvc.yaml")
HEADER = """\
# Generated from the stage table (pipeline_src/stages/__init__.py) by
#   python -m pipeline_src dvc-yaml
# Edit the table, not this file: a test fails when the two differ.
# Every stage runs `python -m pipeline_src <stage>`, as its Snakemake rule does; its first
# output is its params stamp, which DVC restores with the outputs it describes.
"""


def _dvc_command(stage: Stage, wildcards: dict) -> str:
    # quoted although validated names need no quotes, so that the command is the same words
    # whatever a name holds
    words = [f"{flag} '{value}'" for flag, value in stage.arguments(**wildcards)]
    return " ".join(["python -m pipeline_src", stage.name, *words])


def dvc_stage(stage: Stage) -> dict:
    """One entry of dvc.yaml's `stages`."""
    wildcards = {w: DVC_WILDCARDS[w] for w in WILDCARDS[stage.per]}
    outputs = {name: str(path) for name, path in stage.outputs(**wildcards).items()}
    plots = stage.plots(**wildcards)
    body = {"cmd": _dvc_command(stage, wildcards)}
    if stage.dvc_note:
        body["desc"] = _Folded(stage.dvc_note)
    body["deps"] = [*stage.sources, *(str(p) for p in stage.dvc_inputs(**wildcards))]
    body["params"] = stage.dvc_params(**wildcards)
    stamp = str(params_stamp(stage.name, stage.job_name(**wildcards)))
    body["outs"] = [stamp] + [p for name, p in outputs.items() if name not in stage.metrics and name not in plots]
    if stage.metrics:
        body["metrics"] = [outputs[name] for name in stage.metrics]
    if plots:
        body["plots"] = [outputs[name] if props is None else {outputs[name]: props} for name, props in plots.items()]
    if stage.per == PER_DATASET:
        return {"foreach": "${datasets}", "do": body}
    if stage.per == PER_RUN:
        return {"matrix": {"variant": "${variants}", "seed": "${train.seeds}"}, **body}
    return body


class _Folded(str):
    """A long text, written as a folded block (no quotes to escape)."""


class _Dumper(yaml.SafeDumper):
    """Lists indented under their key, as people write YAML."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


_Dumper.add_representer(_Folded, lambda dumper, text: dumper.represent_scalar("tag:yaml.org,2002:str", text, style=">"))


def generate() -> str:
    stages = {name: dvc_stage(stage) for name, stage in STAGES.items()}
    return HEADER + yaml.dump({"stages": stages}, Dumper=_Dumper, sort_keys=False, width=100,
                              default_flow_style=False)


def add_arguments(parser) -> None:
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when dvc.yaml differs from what the table gives")
    parser.add_argument("--output", default=str(PATH), help="file to write or check (default: %(default)s)")


def main(args) -> int:
    wanted = generate()
    path = Path(args.output)
    current = path.read_text() if path.is_file() else None
    if args.check:
        if current != wanted:
            print(f"{path} differs from the stage table: run `python -m pipeline_src dvc-yaml`")
            return 1
        print(f"{path} is the stage table's")
        return 0
    if current != wanted:
        atomic_write_bytes(path, wanted.encode())
        print(f"wrote {path}")
    return 0

