"""`python -m benchmarks.recipe VARIANT SEED [KEY=VALUE ...]`: a learning curve of one training recipe.

Trains a variant of params.yaml with some options overridden (values are YAML: `r1_weight=1.0`,
`optimizer=adam`) and scores its G every `--every` steps on 2000 samples of one fixed z with the
dataset's classifier: FD_classifier, classes covered, class KL, and the diversity ratio of the
mode-collapse flag (of the samples as uint8 images, against a fixed subset of the training split,
so close to the flag's value, not equal to it), beside D(x), D(G(z)) and G's gradient norm of the
last log row. This is how the
recipes in docs/image-recipes.md were compared before they went into params.yaml. It needs the
dataset's prepared data and classifier in the workspace (`snakemake --cores 2
results/features/digits/reference.npz`); it writes nothing but the sample grid given by `--grid`.

The scores are of the G at that step (not the best snapshot, not 10k samples), so they are
close to, not equal to, what `evaluate` reports for the same run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import yaml

N_SCORED = 2000  # generated images per score
Z_SEED = 999  # the fixed z of the scores, apart from training's streams


def parse_overrides(pairs: list[str], parser: argparse.ArgumentParser) -> dict:
    """KEY=VALUE pairs, the values read as YAML."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            parser.error(f"override {pair!r}: expected KEY=VALUE")
        out[key] = yaml.safe_load(value)
    return out


def main(argv: list[str] | None = None) -> int:
    from pipeline_src.datasets.prepared import load_prepared
    from pipeline_src.features import compare, open_extractor
    from pipeline_src.errors import InputError
    from pipeline_src.params import read_yaml, validate_params
    from pipeline_src.paths import RESULTS, classifier_files
    from pipeline_src.features.reference import load_reference
    from pipeline_src.stages.common import variant_options
    from pipeline_src.stages.train import N_DIVERSITY
    from pipeline_src.training.diagnostics import diversity_ratio
    from pipeline_src.training.generator import to_uint8
    from pipeline_src.datasets.prepared import to_unit_range
    from pipeline_src.training.loop import Trainer

    parser = argparse.ArgumentParser(prog="python -m benchmarks.recipe", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variant")
    parser.add_argument("seed", type=int)
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="variant options to change")
    parser.add_argument("--every", type=int, default=500, help="steps between scores (at least 1)")
    parser.add_argument("--grid", type=Path, help="write the last G's 64 samples here (PNG)")
    args = parser.parse_args(argv)

    if args.every < 1:
        parser.error(f"--every: {args.every} is not a positive number of steps")
    overrides = parse_overrides(args.overrides, parser)
    try:  # the overrides go through the schema as an edit of the variant would: bad keys and values exit 2
        raw = read_yaml("params.yaml")
        if args.variant not in raw.get("variants", {}):
            parser.error(f"{args.variant!r} is not a key of `variants` in params.yaml")
        raw["variants"][args.variant].update(overrides)
        options = variant_options(validate_params(raw, "params.yaml with the overrides"), args.variant)
    except InputError as e:
        parser.error(str(e))
    torch.set_num_threads(options["cpu_threads"])  # as the train stage
    dataset = options["dataset"]
    x, _, _ = load_prepared(dataset, RESULTS)
    cpu = torch.device("cpu")
    extractor = open_extractor("classifier", classifier_files(dataset, RESULTS)["weights"], 500, cpu)
    reference = load_reference(dataset, RESULTS)[0]["classifier"]
    trainer = Trainer(options, x, args.seed, cpu)
    z = trainer.sample_z(N_SCORED, torch.Generator().manual_seed(Z_SEED))
    real = x[torch.randperm(len(x), generator=torch.Generator().manual_seed(1))[:N_DIVERSITY]]
    print(f"{args.variant} seed {args.seed} {' '.join(args.overrides)}: {trainer.total_steps} steps", flush=True)
    start = time.perf_counter()
    images = None
    while trainer.step < trainer.total_steps:
        trainer.train_step()
        if trainer.step % options["log_every"] == 0:
            trainer.log_row()
        if trainer.step % args.every and trainer.step < trainer.total_steps:
            continue
        g = trainer.generator_for_eval()
        g.eval()
        with torch.no_grad():
            images = to_uint8(g(z))
        g.train()
        m = compare("classifier", extractor(images), reference)
        div = diversity_ratio(to_unit_range(images[:N_DIVERSITY]).numpy(), to_unit_range(real).numpy())
        row = trainer.rows[-1] if trainer.rows else {}
        print(f"step {trainer.step:6d}  fd_classifier {m['fd_classifier']:8.1f}  classes {m['classes_covered']:2d}  "
              f"class_kl {m['class_kl']:.3f}  diversity {div:.2f}  D(x) {row.get('d_real', float('nan')):.2f}  "
              f"D(G(z)) {row.get('d_fake', float('nan')):.2f}  |grad G| {row.get('grad_norm_g', float('nan')):.3f}  "
              f"{time.perf_counter() - start:.0f} s", flush=True)
    if args.grid and images is not None:
        from torchvision.utils import save_image

        save_image(images[:64].float() / 255, args.grid, nrow=8, padding=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
