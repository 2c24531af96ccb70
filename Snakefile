# GAN ablation pipeline: contents page.
# Run:   snakemake --cores 4 --resources gpu=1
# Same stages as dvc.yaml (stage = rule = `python -m pipeline_src <stage>`).

configfile: "params.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/features.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"


# The jobs that use the network run where Snakemake runs (a cluster's login node), never on a
# compute node: those of most clusters have no outbound network.
localrules:
    download,
    weights,


rule all:
    input:
        all_targets(),
    default_target: True
