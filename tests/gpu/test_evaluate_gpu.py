"""Evaluation on CUDA (skipped without a GPU): the Inception and classifier features
agree with the CPU's, and the stages run end to end on the device."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from pipeline_src.features.inception import InceptionExtractor
from tests.conftest import tiny_params, with_inception
from tests.pipeline.test_evaluate import evaluate_image_run, image_run

pytestmark = pytest.mark.gpu


def test_inception_features_on_cuda_match_the_cpu(inception_weights):
    images = torch.randint(0, 256, (8, 3, 32, 32), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    cpu = InceptionExtractor(inception_weights.path, torch.device("cpu"))(images, 8)
    gpu = InceptionExtractor(inception_weights.path, torch.device("cuda"))(images, 8)
    # TF32 convolutions on Ampere+ round to 10-bit mantissas: agreement to ~1e-2 relative
    np.testing.assert_allclose(gpu["pool3"], cpu["pool3"], rtol=2e-2, atol=2e-2 * np.abs(cpu["pool3"]).mean())


def test_classifier_reference_and_evaluate_run_on_cuda(tmp_path, run_stage, inception_weights):
    params = with_inception(tiny_params(), inception_weights)
    params["train"]["device"] = "cuda"
    for section in ("classifier", "reference", "evaluate"):
        params[section]["device"] = "cuda"
    ws = image_run(run_stage, tmp_path, params)
    m = evaluate_image_run(run_stage, ws)
    assert m["unavailable"] == {} and np.isfinite(m["fid"]) and np.isfinite(m["fd_classifier"])
    assert json.loads((ws / "results/features/digits/classifier.json").read_text())["applicable"] is True
