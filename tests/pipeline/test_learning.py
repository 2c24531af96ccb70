"""The default's image recipe learns: a short run on a few hundred digits leaves the collapsed state.

A learning check, not a timed one. The tolerances sit far from both sides of what was seen:
with the default's `ns_mlp_digits` options (tutorial MLP, SGD, R1) the samples cover most
classes and are about as diverse as the data after a few hundred steps; the same run without
R1 (the former default) draws one pattern (1 class, diversity under 0.1).
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest
import torch

from pipeline_src.datasets.images import read_digits_csv
from pipeline_src.metrics.images import class_coverage
from pipeline_src.params import load_params
from pipeline_src.stages.common import variant_options
from pipeline_src.training.diagnostics import diversity_ratio
from pipeline_src.training.generator import to_uint8
from pipeline_src.datasets.prepared import to_unit_range
from pipeline_src.training.loop import Trainer
from tests.conftest import REPO

N_IMAGES = 200  # training digits of the GAN
STEPS = 500
N_SAMPLES = 500  # generated digits scored


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One torch thread, as the train stage's default, and the process's own count back afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def digits():
    x, y = read_digits_csv(resources.files("sklearn.datasets.data") / "digits.csv.gz")
    return torch.from_numpy(x), torch.from_numpy(y)


@pytest.fixture(scope="module")
def classify(digits, one_thread):
    """A small CNN on all 1797 digits (not the pipeline's stage: a test of the GAN, not of it)."""
    from pipeline_src.features.classifier import classify as run_classifier, train_classifier

    x, y = digits
    options = {"steps": 300, "batch_size": 128, "lr": 1e-3, "width": 16, "feature_dim": 64, "shift": 0}
    model = train_classifier(x, y, 10, options, seed=0, device=torch.device("cpu"))
    _, labels = run_classifier(model, x, 500, torch.device("cpu"))
    assert (labels.numpy() == y.numpy()).mean() > 0.9  # else the class counts below mean little
    return lambda images: run_classifier(model, images, 500, torch.device("cpu"))[1].numpy()


def short_run(digits, **overrides) -> torch.Tensor:
    """The default's ns_mlp_digits for STEPS steps on N_IMAGES digits -> (N_SAMPLES, 1, 8, 8) uint8."""
    options = variant_options(load_params(REPO / "params.yaml"), "ns_mlp_digits")
    options.update(steps=STEPS, **overrides)
    x = digits[0][torch.randperm(len(digits[0]), generator=torch.Generator().manual_seed(0))[:N_IMAGES]]
    trainer = Trainer(options, x, seed=0, device=torch.device("cpu"))
    for _ in range(STEPS):
        trainer.train_step()
    g = trainer.generator_for_eval().eval()
    with torch.no_grad():
        images = g(trainer.sample_z(N_SAMPLES, torch.Generator().manual_seed(1)))
    return to_uint8(images)


def scores(images, digits, classify) -> tuple[int, float]:
    real = digits[0][:N_SAMPLES]
    covered = class_coverage(classify(images), np.full(10, 0.1))["classes_covered"]
    return covered, diversity_ratio(to_unit_range(images).numpy(), to_unit_range(real).numpy())


def test_the_default_digits_recipe_leaves_the_collapsed_state(digits, classify):
    threshold = load_params(REPO / "params.yaml")["train"]["diagnostics"]["collapse_diversity"]
    covered, diversity = scores(short_run(digits), digits, classify)
    assert covered > 5 and diversity > threshold, (covered, diversity)


def test_without_r1_the_same_run_collapses(digits, classify):
    """The contrast that shows what R1 does here (and that the check above can fail)."""
    threshold = load_params(REPO / "params.yaml")["train"]["diagnostics"]["collapse_diversity"]
    covered, diversity = scores(short_run(digits, r1_weight=0.0), digits, classify)
    assert covered <= 3 and diversity < threshold, (covered, diversity)


def test_the_recipe_tool_prints_a_learning_curve_and_the_grid(sweep, tmp_path):
    """`python -m benchmarks.recipe`, the tool behind docs/image-recipes.md's tables, in a finished sweep."""
    import subprocess
    import sys

    from PIL import Image

    from tests.conftest import env_with_venv

    ws, _ = sweep
    grid = tmp_path / "grid.png"
    env = {**env_with_venv(), "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "benchmarks.recipe", "ns_mlp_digits", "0", "steps=20", "r1_every=1",
                           "--every", "10", "--grid", str(grid)], cwd=ws, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith("step ")]
    assert [line.split()[1] for line in lines] == ["10", "20"]
    assert all("fd_classifier" in line and "classes" in line for line in lines)
    with Image.open(grid) as image:
        assert image.size == (8 * 9 + 1, 8 * 9 + 1)  # 8 x 8 digits of 8 px, 1 px apart
    for arg, message in (("steps", "expected KEY=VALUE"), ("stepz=3", "variants.ns_mlp_digits.stepz: unknown key"),
                         ("optimizer=rmsprop", "variants.ns_mlp_digits.optimizer: 'rmsprop' is not one of")):
        bad = subprocess.run([sys.executable, "-m", "benchmarks.recipe", "ns_mlp_digits", "0", arg], cwd=ws, env=env,
                             capture_output=True, text=True, timeout=300)
        assert bad.returncode == 2 and message in bad.stderr, bad.stderr
