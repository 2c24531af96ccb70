"""params.yaml written carelessly or with intent: NaN and infinity, an alias bomb, keys that are
not names, bytes that are not UTF-8, nesting thousands deep, names that end in a newline or
are too long for a path, sizes no machine can allocate, comparisons that compare nothing. Each
is refused before any stage runs: exit 2, a short message naming the key path, nothing
written. Each case here was a traceback, an exit 0 with broken output, or a silent change of
meaning before it was refused."""

from __future__ import annotations

import copy

import pytest
import yaml

from pipeline_src.cli import main
from tests.conftest import REPO, default_params

DEFAULT_TEXT = (REPO / "params.yaml").read_text()


def run_validate(tmp_path, capsys, text: str | bytes) -> tuple[int, str]:
    path = tmp_path / "params.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    code = main(["download", "--dataset", "digits", "--params", str(path), "--results", str(tmp_path / "results")])
    err = capsys.readouterr().err
    assert not (tmp_path / "results").exists()  # nothing written
    assert "Traceback" not in err
    return code, err


def edited(fn) -> str:
    params = copy.deepcopy(default_params())
    fn(params)
    return yaml.safe_dump(params, sort_keys=False)


NON_FINITE = {  # the effect each had when it was accepted
    "epochs_inf": (lambda p: p["train"].update(epochs=float("inf")), "train.epochs: inf is not a finite number"),  # OverflowError
    "lr_nan": (lambda p: p["variants"]["ns_mlp_digits"].update(lr_g=float("nan")),  # "diverged", blaming the GAN
               "variants.ns_mlp_digits.lr_g: nan is not a finite number"),
    "radius_nan": (lambda p: p["datasets"]["ring8"].update(radius=float("nan")),  # all-NaN data, exit 0
                   "datasets.ring8.radius: nan is not a finite number"),
    "r1_nan": (lambda p: p["train"].update(r1_weight=float("nan")), "train.r1_weight: nan is not a finite number"),  # silently off
    "ema_nan": (lambda p: p["train"].update(ema=float("nan")), "train.ema: nan is not a finite number"),
    "hq_threshold_nan": (lambda p: p["evaluate"].update(hq_threshold=float("nan")),  # Infinity in the metrics JSON
                         "evaluate.hq_threshold: nan is not a finite number"),
    "betas_minus_inf": (lambda p: p["train"].update(betas=[0.5, float("-inf")]), "train.betas.1: -inf is not a finite number"),
}


@pytest.mark.parametrize("case", sorted(NON_FINITE))
def test_nan_and_infinity_are_refused_by_key_path(case, tmp_path, capsys):
    edit, expected = NON_FINITE[case]
    code, err = run_validate(tmp_path, capsys, edited(edit))
    assert code == 2 and expected in err, err


def test_a_yaml_alias_bomb_is_refused_quickly_with_a_short_message(tmp_path, capsys):
    bomb = "".join(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]\n" for i in range(1, 10))
    code, err = run_validate(tmp_path, capsys, DEFAULT_TEXT + "l0: &l0 [lol]\n" + bomb)  # 9**9 values expanded
    assert code == 2
    assert "aliases expand to more than 100000 values" in err, err
    assert len(err) < 1000  # the expanded value is never printed


@pytest.mark.parametrize("text,expected", [
    (DEFAULT_TEXT + "? [a, b]\n: 1\n", "a key must be a name, not a list"),
    (DEFAULT_TEXT.encode() + b"# caf\xe9\n", "not UTF-8 text (byte"),
    (DEFAULT_TEXT + "deep: " + "[" * 3000 + "]" * 3000 + "\n", "nested more than 64 levels deep"),
    (DEFAULT_TEXT + "".join(f"k{i}: &a{i} " + "[" * 60 + (f"*a{i - 1}" if i else "x") + "]" * 60 + "\n"
                            for i in range(40)), "nested more than 64 levels deep"),  # 2400 levels through aliases
], ids=["unhashable_key", "invalid_utf8", "nesting_3000", "nesting_through_aliases"])
def test_yaml_that_cannot_be_params_is_refused_without_a_traceback(text, expected, tmp_path, capsys):
    code, err = run_validate(tmp_path, capsys, text)
    assert code == 2 and expected in err, err


NAMES = {
    "int_key": (lambda p: p["variants"].update({7: p["variants"]["ns_mlp_digits"]}),
                "variants: the key 7 is not a name; quote it or rename it"),
    "bool_key": (lambda p: p["datasets"].update({True: {"folder": "f"}}),
                 "datasets: the key True is not a name; quote it or rename it"),
    "newline_in_variant": (lambda p: p["variants"].update({"vx\n": p["variants"]["ns_mlp_digits"]}),
                           "variants: 'vx\\n' does not match"),
    "newline_in_dataset": (lambda p: p["datasets"].update({"faces\n": {"folder": "f"}}), "datasets: 'faces\\n' does not match"),
    "long_variant": (lambda p: p["variants"].update({"v" * 300: p["variants"]["ns_mlp_digits"]}), "is too long"),
}


@pytest.mark.parametrize("case", sorted(NAMES))
def test_names_are_whole_matches_of_short_words(case, tmp_path, capsys):
    edit, expected = NAMES[case]
    code, err = run_validate(tmp_path, capsys, edited(edit))
    assert code == 2 and expected in err, err


BOUNDS = {
    "batch_size": (lambda p: p["train"].update(batch_size=10**9), "train.batch_size: 1000000000 is greater than the maximum of 65536"),
    "toy_width": (lambda p: p["variants"]["ns_toy_ring8"].update(toy_width=10**7),
                  "variants.ns_toy_ring8.toy_width: 10000000 is greater than the maximum of 16384"),
    "seed": (lambda p: p["train"].update(seeds=[0, 2**70]), f"train.seeds.1: {2**70} is greater than the maximum of 4294967295"),
    "steps": (lambda p: p["train"].update(steps=2**40), f"train.steps: {2**40} is greater than the maximum of 2147483647"),
    "compare_with_itself": (lambda p: p["report"].update(comparisons=[["ns_mlp_digits", "ns_mlp_digits"]]),
                            "report.comparisons.0: compares 'ns_mlp_digits' with itself"),
    "compare_across_datasets": (lambda p: p["report"].update(comparisons=[["ns_mlp_digits", "ns_toy_ring8"]]),
                                "report.comparisons.0: 'ns_mlp_digits' trains on digits and 'ns_toy_ring8' on ring8"),
}


@pytest.mark.parametrize("case", sorted(BOUNDS))
def test_sizes_past_any_machine_and_empty_comparisons_are_refused(case, tmp_path, capsys):
    edit, expected = BOUNDS[case]
    code, err = run_validate(tmp_path, capsys, edited(edit))
    assert code == 2 and expected in err, err
