# Stage `evaluate`: one job per (variant, seed).


rule evaluate:
    input:
        stage_sources("evaluate"),
        stamp=lambda wc: stamp("evaluate", f"{wc.variant}-{wc.seed}"),
        generator=str(RUN.generator),
        snapshots=str(RUN.snapshots),
        diagnostics=str(RUN.diagnostics),
        classifier=lambda wc: str(classifier_files(variant_dataset(wc))["weights"]),
        reference=lambda wc: str(reference_files(variant_dataset(wc))["arrays"]),
        reference_summary=lambda wc: str(reference_files(variant_dataset(wc))["summary"]),
    output:
        metrics=str(RUN.metrics),
        steps=str(RUN.steps_csv),
    params:
        options=lambda wc: job_options("evaluate", config, f"{wc.variant}-{wc.seed}"),
    threads: config["evaluate"]["cpu_threads"]
    priority: 10  # see rule download
    group: run_group
    resources:
        gpu=lambda wc: gpu_tokens(config["evaluate"]["device"]) if is_image(variant_dataset(wc)) else 0,
        runtime=job_resource("evaluate", "runtime_min"),
        mem_mb=job_resource("evaluate", "mem_mb"),
    log:
        "results/logs/evaluate/{variant}/seed{seed}.log",
    shell:
        "python -m pipeline_src evaluate --variant {wildcards.variant:q} --seed {wildcards.seed:q} 2> {log:q}"
