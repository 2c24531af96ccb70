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


rule all:
    input:
        all_targets(),
    default_target: True
