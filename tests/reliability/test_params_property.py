"""Property: random edits of params.yaml never crash the validator with a traceback, and a
document it accepts is one the stages can run: every variant resolves, every job's options
exist, and every variant's networks take a batch of its data (on torch's meta device, so no
memory is spent on the weights)."""

from __future__ import annotations

import copy

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline_src import datasets
from pipeline_src.params import ParamsError, validate_params
from pipeline_src.stages.common import job_options, variant_options
from pipeline_src.training.networks import build_networks
from tests.conftest import default_params

DEFAULTS = default_params()
DEFAULTS["variants"]["dc_digits"] = {"dataset": "digits", "model": "dcgan", "loss": "wgan_gp"}


def key_paths(node, prefix=()) -> list[tuple]:
    paths = []
    if isinstance(node, dict):
        for key, value in node.items():
            paths.append(prefix + (key,))
            paths += key_paths(value, prefix + (key,))
    return paths


PATHS = key_paths(DEFAULTS)
WILD = st.sampled_from([-1, 0, 0.5, -0.1, float("nan"), True, None, "", "x", [], [0, 1], {}])
NAMES = ["auto", "cpu", "minimax", "non_saturating", "hinge", "lsgan", "wgan_gp", "dcgan", "mlp", "toy_mlp",
         "digits", "ring8", "grid25", "gauss1d", "mnist", "pad", "bilinear", "normal", "uniform", "train", "test"]


def value_like(current):
    """Mostly a value of the same type as the default (so that documents get accepted too and
    what is accepted gets exercised), sometimes anything."""
    if isinstance(current, bool):
        typed = st.booleans()
    elif isinstance(current, int):
        typed = st.sampled_from([-1, 0, 1, 2, 3, 4, 7, 8, 12, 16, 32, 64, 100, 128])
    elif isinstance(current, float):
        typed = st.sampled_from([-0.5, 0.0, 1e-4, 0.01, 0.2, 0.5, 0.9, 1.0, 2.0, 1e3])
    elif isinstance(current, str):
        typed = st.sampled_from(NAMES)
    elif isinstance(current, list):
        typed = st.lists(st.integers(-1, 3), max_size=3) | st.just([0.5, 0.999]) | st.just([[0, 1]])
    else:
        typed = WILD
    return st.one_of(typed, typed, typed, WILD)


def lookup(doc, path):
    for key in path:
        doc = doc[key]
    return doc


@st.composite
def edit(draw):
    action = draw(st.sampled_from(["set"] * 6 + ["delete", "add"]))
    path = draw(st.sampled_from(PATHS))
    return action, path, draw(value_like(lookup(DEFAULTS, path)))


EDITS = st.lists(edit(), max_size=4)


def edited(edits) -> dict:
    doc = copy.deepcopy(DEFAULTS)
    for action, path, value in edits:
        parent = doc
        for key in path[:-1]:
            if not isinstance(parent, dict) or key not in parent:
                break
            parent = parent[key]
        else:
            if not isinstance(parent, dict):
                continue
            if action == "set":
                parent[path[-1]] = value
            elif action == "delete":
                parent.pop(path[-1], None)
            else:
                parent[f"{path[-1]}_extra"] = value
    return doc


def sample_shape(params: dict, dataset: str) -> tuple[int, ...]:
    spec = datasets.spec_of(dataset, params["datasets"][dataset])
    if spec.kind == "points":
        return (spec.dim,)
    side = params["datasets"][dataset]["side"]
    return (spec.channels, side, side)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EDITS)
def test_the_validator_refuses_with_a_message_or_accepts_what_the_stages_can_run(edits):
    doc = edited(edits)
    try:
        params = validate_params(doc)
    except ParamsError as e:
        assert e.problems and all(isinstance(p, str) and p for p in e.problems)
        assert "Traceback" not in str(e)
        return
    for stage in ("download", "prepare", "classifier", "reference"):
        for dataset in params["datasets"]:
            job_options(stage, params, dataset)
    job_options("weights", params, "all")
    job_options("report", params, "all")
    for variant in params["variants"]:
        options = variant_options(params, variant)
        for seed in params["train"]["seeds"]:
            job_options("train", params, f"{variant}-{seed}")
            job_options("evaluate", params, f"{variant}-{seed}")
        shape = sample_shape(params, options["dataset"])
        with torch.device("meta"):
            g, d = build_networks(options["model"], shape, options)
            x = g(torch.zeros(options["batch_size"], options["z_dim"]))
            assert x.shape == (options["batch_size"], *shape)
            assert d(x).shape == (options["batch_size"] // options["pack"],)
