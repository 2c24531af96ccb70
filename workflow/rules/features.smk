# Stages `classifier` and `reference`: one job per entry of `datasets:`.
# Both run once per dataset and are reused by every variant's evaluate job.


rule classifier:
    input:
        stage_sources("classifier"),
        stamp=lambda wc: stamp("classifier", wc.dataset),
        train="results/data/{dataset}/train.pt",
        test="results/data/{dataset}/test.pt",
        meta="results/data/{dataset}/meta.json",
    output:
        weights="results/features/{dataset}/classifier.pt",
        summary="results/features/{dataset}/classifier.json",
    params:
        options=lambda wc: job_options("classifier", config, wc.dataset),
    threads: config["classifier"]["cpu_threads"]
    priority: 20  # see rule download
    resources:
        gpu=lambda wc: gpu_tokens(config["classifier"]["device"]) if is_image(wc.dataset) else 0,
        runtime=job_resource("classifier", "runtime_min"),
        mem_mb=job_resource("classifier", "mem_mb"),
    log:
        "results/logs/classifier/{dataset}.log",
    shell:
        "python -m pipeline_src classifier --dataset {wildcards.dataset:q} 2> {log:q}"


rule weights:
    input:
        stage_sources("weights"),
        stamp=stamp("weights", WEIGHTS_JOB),
    output:
        str(weights_record()),
    params:
        options=job_options("weights", config, WEIGHTS_JOB),
    priority: 40  # see rule download
    resources:
        runtime=job_resource("weights", "runtime_min"),
        mem_mb=job_resource("weights", "mem_mb"),
    log:
        "results/logs/weights.log",
    shell:
        "python -m pipeline_src weights 2> {log:q}"


rule reference:
    input:
        stage_sources("reference"),
        stamp=lambda wc: stamp("reference", wc.dataset),
        weights=lambda wc: str(weights_record()) if is_image(wc.dataset) else [],
        train="results/data/{dataset}/train.pt",
        test="results/data/{dataset}/test.pt",
        meta="results/data/{dataset}/meta.json",
        classifier="results/features/{dataset}/classifier.pt",
    output:
        arrays="results/features/{dataset}/reference.npz",
        summary="results/features/{dataset}/reference.json",
    params:
        options=lambda wc: job_options("reference", config, wc.dataset),
    threads: config["reference"]["cpu_threads"]
    priority: 20
    resources:
        gpu=lambda wc: gpu_tokens(config["reference"]["device"]) if is_image(wc.dataset) else 0,
        runtime=job_resource("reference", "runtime_min"),
        mem_mb=job_resource("reference", "mem_mb"),
    log:
        "results/logs/reference/{dataset}.log",
    shell:
        "python -m pipeline_src reference --dataset {wildcards.dataset:q} 2> {log:q}"
