# Stage `train`: one job per (variant, seed).


rule train:
    input:
        stage_sources("train"),
        stamp=lambda wc: stamp("train", f"{wc.variant}-{wc.seed}"),
        data=lambda wc: str(prepared_files(variant_dataset(wc))["train"]),
        meta=lambda wc: str(prepared_files(variant_dataset(wc))["meta"]),
    output:
        checkpoint=str(RUN.checkpoint),
        generator=str(RUN.generator),
        log_csv=str(RUN.log_csv),
        diagnostics=str(RUN.diagnostics),
        options=str(RUN.options),
        samples=directory(str(RUN.samples)),
        snapshots=directory(str(RUN.snapshots)),
    params:
        # the resolved options: a change of `train` defaults or of this variant re-runs it
        options=lambda wc: variant_options(config, wc.variant),
    threads: lambda wc: variant_options(config, wc.variant)["cpu_threads"]
    priority: train_priority
    group: run_group
    resources:
        gpu=lambda wc: gpu_tokens(variant_options(config, wc.variant)["device"]),
        runtime=job_resource("train", "runtime_min"),
        mem_mb=job_resource("train", "mem_mb"),
    log:
        "results/logs/train/{variant}/seed{seed}.log",
    shell:
        "python -m pipeline_src train --variant {wildcards.variant:q} --seed {wildcards.seed:q} 2> {log:q}"
