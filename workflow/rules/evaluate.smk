# Stage `evaluate`: one job per (variant, seed).


rule evaluate:
    input:
        stage_sources("evaluate"),
        stamp=job_stamp("evaluate"),
        generator=rules.train.output.generator,
        snapshots=rules.train.output.snapshots,
        diagnostics=rules.train.output.diagnostics,
        classifier=lambda wc: str(classifier_files(variant_dataset(wc))["weights"]),
        reference=lambda wc: str(reference_files(variant_dataset(wc))["arrays"]),
        reference_summary=lambda wc: str(reference_files(variant_dataset(wc))["summary"]),
    output:
        **stage_outputs("evaluate"),
    params:
        options=job_params("evaluate"),
    threads: job_threads("evaluate")
    priority: 10  # see rule download
    group: run_group
    resources:
        gpu=job_gpu("evaluate"),
        runtime=job_resource("evaluate", "runtime_min"),
        mem_mb=job_resource("evaluate", "mem_mb"),
    log:
        stage_log("evaluate"),
    shell:
        stage_shell("evaluate")
