# Shared by every rule: params validation, target lists, per-stage sources, params stamps.

from snakemake.utils import validate

from pipeline_src import datasets
from pipeline_src.devices import wants_gpu
from pipeline_src.errors import InputError
from pipeline_src.params import read_yaml, validate_params
from pipeline_src.paths import RESULTS, RunFiles, classifier_files, params_stamp, prepared_files, reference_files
from pipeline_src.stages import ONCE, ONE_JOB, PER_DATASET, PER_RUN, SNAKEMAKE_WILDCARDS, STAGES, WILDCARDS
from pipeline_src.stages.common import job_options, plan_stamps, variant_options
from pipeline_src.training import early_stop_on
from pipeline_src.workspace import WorkspaceBusy, claim_for_snakemake


def _checked_config():
    """params.yaml as the stages read it (YAML 1.2 numbers, as DVC: `1e-3` is a float), validated
    by our schema checks (messages name the key path).

    Stages read params.yaml themselves (dvc.yaml runs the same commands), so
    values given with --config/--configfile would never reach them: refuse them. What
    Snakemake's `configfile:` read (YAML 1.1) tells them apart from the file.
    """
    import yaml

    try:
        raw = read_yaml("params.yaml")
        with open("params.yaml", encoding="utf-8") as f:
            as_snakemake_read_it = yaml.safe_load(f)
        if as_snakemake_read_it != dict(config):
            raise WorkflowError(
                "config differs from params.yaml: stages read params.yaml only, so edit "
                "params.yaml instead of passing --config/--configfile"
            )
        return validate_params(raw, "params.yaml")
    except InputError as e:
        raise WorkflowError(str(e))


config.update(_checked_config())
validate(config, "../schemas/params.schema.yaml")


onstart:
    # One driver at a time: hold DVC's repository lock while this run lasts, or refuse
    # when `dvc repro` runs here (pipeline_src/workspace.py). Not run for dry runs or cluster jobs.
    try:
        claim_for_snakemake()
    except WorkspaceBusy as e:
        raise WorkflowError(str(e))


DATASETS = list(config["datasets"])
VARIANTS = list(config["variants"])
SEEDS = list(config["train"]["seeds"])
USED_DATASETS = list(dict.fromkeys(v["dataset"] for v in config["variants"].values()))


RUN = RunFiles("{variant}", "{seed}")  # the file patterns of the per-run rules


wildcard_constraints:
    dataset="|".join(DATASETS),
    variant="|".join(VARIANTS),
    seed=r"\d+",


def job_resource(stage, key):
    """`resources.<stage>.<key>` of params.yaml, else `resources.default.<key>`."""
    return {**config["resources"]["default"], **config["resources"].get(stage, {})}[key]


def gpu_tokens(device):
    """1 for jobs that will run on CUDA, decided for the machines they run on (see GPU_NODES):
    `--resources gpu=N` bounds them here, and Slurm gives each one a GPU."""
    return 1 if wants_gpu(device, GPU_NODES) else 0


def is_image(dataset):
    return datasets.spec_of(dataset, config["datasets"][dataset]).kind == "image"


def variant_dataset(wc):
    return config["variants"][wc.variant]["dataset"]


def run_group(wc):
    """A cluster submits a toy run's train and evaluate jobs as one job, the Snakemake group
    `toys`: each takes seconds, and every submission waits in the queue. An image run's jobs
    stay apart: its evaluate needs the dataset's reference statistics, and in one group its
    training would wait for them. One machine ignores groups."""
    return None if is_image(variant_dataset(wc)) else "toys"


def run_size(variant):
    """A rough size of a run, for ordering the training jobs only (never for results): the values
    its networks see, generator updates x batch x (d_steps + 1) x values per sample. It ignores the
    networks' own cost, and `steps` stands in for a variant set by `epochs` (n_train is not known
    before prepare)."""
    o = variant_options(config, variant)
    spec = datasets.spec_of(o["dataset"], config["datasets"][o["dataset"]])
    values = spec.dim if spec.kind == "points" else spec.channels * config["datasets"][o["dataset"]]["side"] ** 2
    return o["steps"] * o["batch_size"] * (o["d_steps"] + 1) * values


def train_priority(wc):
    """Larger runs first, below every other stage (why the others come first: the download rule).
    The short runs then fill the last minutes, instead of one long run finishing alone on one core."""
    return 9 * run_size(wc.variant) / max(run_size(v) for v in VARIANTS)


def _planned_stamps():
    """Every configured job's params stamp, written (when it no longer matches params.yaml)
    before the DAG is built: Snakemake caches directory listings while it builds it, so a
    stamp written from an input function after its folder was listed (a new seed's, asked
    for by file name) looked missing. Every stage writes its stamp too, before its outputs,
    whichever driver runs it; DVC keeps it as an output. A new stamp is newer than the
    outputs and has new content, so the job reruns: switching between Snakemake and DVC
    never leaves stale results. `snakemake -n` and the other commands that only look write
    nothing in the workspace: a stamp that would change is written to a temporary folder."""
    import atexit
    import shutil
    import sys
    import tempfile

    names = {PER_DATASET: DATASETS, PER_RUN: [f"{v}-{s}" for v in VARIANTS for s in SEEDS], ONCE: [ONE_JOB]}
    jobs = {(stage.name, name): job_options(stage.name, config, name)
            for stage in STAGES.values() for name in names[stage.per]}
    read_only = _read_only_invocation(COMMAND_LINE)
    staging = None
    if read_only:
        staging = tempfile.mkdtemp(prefix="gan-pipeline-stamps-")
        atexit.register(shutil.rmtree, staging, ignore_errors=True)
    return plan_stamps(jobs, RESULTS, read_only, staging)


def _command_line():
    """This Snakemake command's options, its profiles applied, read by Snakemake's own parser: the
    Snakefile is read before Snakemake tells it what it was asked. None when unreadable (unsure)."""
    import contextlib
    import io
    import sys

    from snakemake.cli import parse_args

    try:
        with contextlib.redirect_stderr(io.StringIO()):
            return parse_args(sys.argv[1:])[1]
    except (SystemExit, Exception):
        return None


def _read_only_invocation(args):
    """Whether this command only looks (`-n` and its kind). Unsure: not read-only."""
    looks = ("dryrun", "summary", "detailed_summary", "list_rules", "list_target_rules", "lint", "dag",
             "rulegraph", "filegraph", "d3dag", "unlock", "list_changes", "list_input_changes",
             "list_params_changes", "list_untracked", "list_conda_envs")
    return args is not None and (any(getattr(args, a, None) not in (None, False) for a in looks)
                                 or getattr(args, "executor", None) == "dryrun")


def _declared_gpu_nodes():
    """`gpu_nodes` of the default resources, which workflow/profiles/slurm sets: whether the machines
    that run the jobs have GPUs. Undeclared, the jobs run here and this machine decides (None); a
    command that sends them to other machines must declare it, since the login node cannot tell."""
    defaults = workflow.resource_settings.default_resources
    if defaults is not None and "gpu_nodes" in defaults:
        value = getattr(defaults["gpu_nodes"], "value", None)
        if value not in (0, 1):
            raise WorkflowError(f"default resource gpu_nodes={value!r}: 1 (the nodes that run the jobs have "
                                "GPUs) or 0 (they have none)")
        return bool(value)
    executor = getattr(COMMAND_LINE, "executor", None)
    if workflow.is_main_process and executor not in (None, "local", "dryrun", "touch"):
        raise WorkflowError(f"--executor {executor}: the jobs run on other machines, so this one cannot tell "
                            "whether they have GPUs. Declare it with --default-resources gpu_nodes=1 (or 0 "
                            "for CPU-only nodes), as workflow/profiles/slurm/config.yaml does")
    return None


COMMAND_LINE = _command_line()
GPU_NODES = _declared_gpu_nodes()


STAMPS = _planned_stamps()


def stamp(stage, name):
    """The params stamp of a job, an input of its rule (see _planned_stamps)."""
    return str(STAMPS.get((stage, name), params_stamp(stage, name)))


def _job(stage, wc):
    """The name of the job of `stage` that the wildcards `wc` select."""
    return STAGES[stage].job_name(**{w: wc[w] for w in WILDCARDS[STAGES[stage].per]})


def job_stamp(stage):
    """Input: the job's params stamp."""
    return lambda wc: stamp(stage, _job(stage, wc))


def job_params(stage):
    """Params: the job's options, so the rule re-runs when they change (Snakemake's params trigger)."""
    return lambda wc: job_options(stage, config, _job(stage, wc))


def job_gpu(stage):
    """Resources: a GPU token for a job that runs on CUDA, by the device the stage table gives it."""
    def tokens(wc):
        name = _job(stage, wc)
        return gpu_tokens(STAGES[stage].device(job_options(stage, config, name), name))
    return tokens


def job_threads(stage):
    """Threads: as many cores as the job's torch threads (the stage table's), 1 for a job without torch."""
    return lambda wc: STAGES[stage].threads(job_options(stage, config, _job(stage, wc))) or 1


def stage_sources(stage):
    """Source files of a job: editing one re-runs it (Snakemake does not see imports). A stage's
    modules loaded on demand count for the jobs whose options load them only."""
    table = STAGES[stage]
    if not table.on_demand:
        return list(table.sources)
    return lambda wc: list(table.job_sources(job_options(stage, config, _job(stage, wc))))


def scoring_inputs(wc):
    """A run that stops early on images is scored with its dataset's classifier and reference statistics."""
    options = job_options("train", config, _job("train", wc))
    if not early_stop_on(options["early_stop"]) or not is_image(options["dataset"]):
        return []
    return [str(classifier_files(options["dataset"])["weights"]), *map(str, reference_files(options["dataset"]).values())]


def stage_outputs(stage):
    """The stage's outputs as the stage table names them, folders marked as such."""
    table = STAGES[stage]
    outputs = table.outputs(**{w: SNAKEMAKE_WILDCARDS[w] for w in WILDCARDS[table.per]})
    return {name: directory(str(path)) if name in table.directories else str(path) for name, path in outputs.items()}


def stage_log(stage):
    table = STAGES[stage]
    return str(table.log(**{w: SNAKEMAKE_WILDCARDS[w] for w in WILDCARDS[table.per]}))


def stage_shell(stage):
    """The stage's command, as dvc.yaml runs it, its standard error into the job's log."""
    table = STAGES[stage]
    words = [f"{flag} {value}" for flag, value in table.arguments(**{w: f"{{wildcards.{w}:q}}" for w in WILDCARDS[table.per]})]
    return " ".join(["python -m pipeline_src", stage, *words, "2> {log:q}"])


def all_targets():
    """Every output of every job."""
    jobs = {PER_DATASET: [{"dataset": d} for d in DATASETS], ONCE: [{}],
            PER_RUN: [{"variant": v, "seed": s} for v in VARIANTS for s in SEEDS]}
    return [str(path) for stage in STAGES.values() for wc in jobs[stage.per] for path in stage.outputs(**wc).values()]
