# Stage `report`: one job over the whole sweep.


rule report:
    input:
        stage_sources("report"),
        stamp=lambda wc: stamp("report", "all"),
        metrics=[str(metrics_file(v, s)) for v in VARIANTS for s in SEEDS],
        references=[str(reference_files(d)["summary"]) for d in USED_DATASETS],
    output:
        csv="results/report/summary.csv",
        md="results/report/summary.md",
        comparisons="results/report/comparisons.csv",
    params:
        options=lambda wc: job_options("report", config, "all"),
    resources:
        runtime=job_resource("report", "runtime_min"),
        mem_mb=job_resource("report", "mem_mb"),
    log:
        "results/logs/report.log",
    shell:
        "python -m pipeline_src report 2> {log}"
