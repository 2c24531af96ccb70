# Stages `download` and `prepare`: one job per entry of `datasets:`.


rule download:
    input:
        stage_sources("download"),
        stamp=job_stamp("download"),
    output:
        **stage_outputs("download"),
    params:
        options=job_params("download"),
    # Data and features first, then each run's evaluate as soon as it can start, training last:
    # the shared jobs do not wait behind 21 training runs, and evaluations overlap training
    # instead of running one by one at the end (docs/method.md, Stages).
    priority: 40
    resources:
        runtime=job_resource("download", "runtime_min"),
        mem_mb=job_resource("download", "mem_mb"),
    log:
        stage_log("download"),
    shell:
        stage_shell("download")


rule prepare:
    input:
        stage_sources("prepare"),
        stamp=job_stamp("prepare"),
        raw=rules.download.output.raw,
    output:
        **stage_outputs("prepare"),
    params:
        options=job_params("prepare"),
    priority: 30
    resources:
        runtime=job_resource("prepare", "runtime_min"),
        mem_mb=job_resource("prepare", "mem_mb"),
    log:
        stage_log("prepare"),
    shell:
        stage_shell("prepare")
