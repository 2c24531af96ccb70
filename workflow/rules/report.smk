# Stage `report`: one job over the whole sweep. Its figures, page and tables are
# annotated for `snakemake --report report.html` (captions in workflow/report/).

REPORT = stage_outputs("report")


rule report:
    input:
        stage_sources("report"),
        stamp=job_stamp("report"),
        metrics=[str(RunFiles(v, s).metrics) for v in VARIANTS for s in SEEDS],
        steps=[str(RunFiles(v, s).steps_csv) for v in VARIANTS for s in SEEDS],
        logs=[str(RunFiles(v, s).log_csv) for v in VARIANTS for s in SEEDS],
        diagnostics=[str(RunFiles(v, s).diagnostics) for v in VARIANTS for s in SEEDS],
        generators=[str(RunFiles(v, SEEDS[0]).generator) for v in VARIANTS],
        snapshots=[str(RunFiles(v, SEEDS[0]).snapshots) for v in VARIANTS],  # the evaluated G may be one
        references=[str(reference_files(d)["summary"]) for d in USED_DATASETS],
        test_splits=[str(prepared_files(d)[k]) for d in USED_DATASETS for k in ("test", "meta")],
    output:
        csv=report(REPORT["csv"], caption="../report/summary.rst", category="Tables"),
        md=REPORT["md"],
        comparisons=report(REPORT["comparisons"], caption="../report/comparisons.rst", category="Tables"),
        html=report(REPORT["html"], caption="../report/index.rst", category="Report"),
        figures=report(REPORT["figures"], patterns=["{name}.png"], caption="../report/figures.rst",
                       category="Figures"),
    params:
        options=job_params("report"),
    threads: job_threads("report")
    resources:
        runtime=job_resource("report", "runtime_min"),
        mem_mb=job_resource("report", "mem_mb"),
    log:
        stage_log("report"),
    shell:
        stage_shell("report")
