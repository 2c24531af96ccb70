# Stage `train`: one job per (variant, seed).


rule train:
    input:
        stage_sources("train"),
        stamp=job_stamp("train"),
        data=lambda wc: str(prepared_files(variant_dataset(wc))["train"]),
        heldout=lambda wc: str(prepared_files(variant_dataset(wc))["test"]),  # D is shown a batch of it
        meta=lambda wc: str(prepared_files(variant_dataset(wc))["meta"]),
        scoring=scoring_inputs,  # early stopping on images only
    output:
        **stage_outputs("train"),
    params:
        # the resolved options: a change of `train` defaults or of this variant re-runs it
        options=job_params("train"),
    threads: job_threads("train")
    priority: train_priority
    group: run_group
    resources:
        gpu=job_gpu("train"),
        runtime=job_resource("train", "runtime_min"),
        mem_mb=job_resource("train", "mem_mb"),
    log:
        stage_log("train"),
    shell:
        stage_shell("train")
