# Stage `evaluate`: one job per (variant, seed).


rule evaluate:
    input:
        stage_sources("evaluate"),
        stamp=lambda wc: stamp("evaluate", f"{wc.variant}-{wc.seed}"),
        generator="results/runs/{variant}/seed{seed}/generator.pt",
        diagnostics="results/runs/{variant}/seed{seed}/diagnostics.json",
    output:
        metrics="results/metrics/{variant}/seed{seed}.json",
    params:
        options=lambda wc: job_options("evaluate", config, f"{wc.variant}-{wc.seed}"),
    resources:
        runtime=job_resource("evaluate", "runtime_min"),
        mem_mb=job_resource("evaluate", "mem_mb"),
    log:
        "results/logs/evaluate/{variant}/seed{seed}.log",
    shell:
        "python -m pipeline_src evaluate --variant {wildcards.variant} --seed {wildcards.seed} 2> {log}"
