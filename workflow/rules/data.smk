# Stages `download` and `prepare`: one job per entry of `datasets:`.


rule download:
    input:
        stage_sources("download"),
        stamp=lambda wc: stamp("download", wc.dataset),
    output:
        directory("results/data/{dataset}/raw"),
    params:
        # the rule re-runs when these params change (Snakemake's params rerun trigger)
        options=lambda wc: job_options("download", config, wc.dataset),
    # Data and features first, then each run's evaluate as soon as it can start, training last:
    # the shared jobs do not wait behind 21 training runs, and evaluations overlap training
    # instead of running one by one at the end (docs/method.md, Stages).
    priority: 40
    resources:
        runtime=job_resource("download", "runtime_min"),
        mem_mb=job_resource("download", "mem_mb"),
    log:
        "results/logs/download/{dataset}.log",
    shell:
        "python -m pipeline_src download --dataset {wildcards.dataset:q} 2> {log:q}"


rule prepare:
    input:
        stage_sources("prepare"),
        stamp=lambda wc: stamp("prepare", wc.dataset),
        raw="results/data/{dataset}/raw",
    output:
        train="results/data/{dataset}/train.pt",
        test="results/data/{dataset}/test.pt",
        meta="results/data/{dataset}/meta.json",
    params:
        options=lambda wc: job_options("prepare", config, wc.dataset),
    priority: 30
    resources:
        runtime=job_resource("prepare", "runtime_min"),
        mem_mb=job_resource("prepare", "mem_mb"),
    log:
        "results/logs/prepare/{dataset}.log",
    shell:
        "python -m pipeline_src prepare --dataset {wildcards.dataset:q} 2> {log:q}"
