# Stages `classifier`, `weights` and `reference`: the classifier and reference run once per entry of
# `datasets:`, and every variant's evaluate job reuses them.


rule classifier:
    input:
        stage_sources("classifier"),
        stamp=job_stamp("classifier"),
        **rules.prepare.output,
    output:
        **stage_outputs("classifier"),
    params:
        options=job_params("classifier"),
    threads: job_threads("classifier")
    priority: 20  # see rule download
    resources:
        gpu=job_gpu("classifier"),
        runtime=job_resource("classifier", "runtime_min"),
        mem_mb=job_resource("classifier", "mem_mb"),
    log:
        stage_log("classifier"),
    shell:
        stage_shell("classifier")


rule weights:
    input:
        stage_sources("weights"),
        stamp=job_stamp("weights"),
    output:
        **stage_outputs("weights"),
    params:
        options=job_params("weights"),
    priority: 40  # see rule download
    resources:
        runtime=job_resource("weights", "runtime_min"),
        mem_mb=job_resource("weights", "mem_mb"),
    log:
        stage_log("weights"),
    shell:
        stage_shell("weights")


rule reference:
    input:
        stage_sources("reference"),
        stamp=job_stamp("reference"),
        weights=lambda wc: rules.weights.output.record if is_image(wc.dataset) else [],
        **rules.prepare.output,
        classifier=rules.classifier.output.weights,
    output:
        **stage_outputs("reference"),
    params:
        options=job_params("reference"),
    threads: job_threads("reference")
    priority: 20
    resources:
        gpu=job_gpu("reference"),
        runtime=job_resource("reference", "runtime_min"),
        mem_mb=job_resource("reference", "mem_mb"),
    log:
        stage_log("reference"),
    shell:
        stage_shell("reference")
