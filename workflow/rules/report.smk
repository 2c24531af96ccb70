# Stage `report`: one job over the whole sweep. Its figures, page and tables are
# annotated for `snakemake --report report.html` (captions in workflow/report/).


rule report:
    input:
        stage_sources("report"),
        stamp=lambda wc: stamp("report", "all"),
        metrics=[str(RunFiles(v, s).metrics) for v in VARIANTS for s in SEEDS],
        steps=[str(RunFiles(v, s).steps_csv) for v in VARIANTS for s in SEEDS],
        logs=[str(RunFiles(v, s).log_csv) for v in VARIANTS for s in SEEDS],
        diagnostics=[str(RunFiles(v, s).diagnostics) for v in VARIANTS for s in SEEDS],
        generators=[str(RunFiles(v, SEEDS[0]).generator) for v in VARIANTS],
        snapshots=[str(RunFiles(v, SEEDS[0]).snapshots) for v in VARIANTS],  # the evaluated G may be one
        references=[str(reference_files(d)["summary"]) for d in USED_DATASETS],
        test_splits=[str(prepared_files(d)[k]) for d in USED_DATASETS for k in ("test", "meta")],
    output:
        csv=report("results/report/summary.csv", caption="../report/summary.rst", category="Tables"),
        md="results/report/summary.md",
        comparisons=report("results/report/comparisons.csv", caption="../report/comparisons.rst",
                           category="Tables"),
        html=report("results/report/index.html", caption="../report/index.rst", category="Report"),
        figures=report(directory("results/report/figures"), patterns=["{name}.png"],
                       caption="../report/figures.rst", category="Figures"),
    params:
        options=lambda wc: job_options("report", config, "all"),
    resources:
        runtime=job_resource("report", "runtime_min"),
        mem_mb=job_resource("report", "mem_mb"),
    log:
        "results/logs/report.log",
    shell:
        "python -m pipeline_src report 2> {log:q}"
