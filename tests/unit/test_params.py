"""params.yaml validation: the defaults pass; every class of bad input stops
with exit code 2 and a message that names the key path, and nothing is written."""

from __future__ import annotations

import copy

import pytest

from pipeline_src.cli import main
from pipeline_src.params import ParamsError, load_params, resolve_variant, validate_params
from tests.conftest import REPO, cli, default_params, write_params


def test_default_params_are_valid():
    params = load_params(REPO / "params.yaml")
    assert set(params["datasets"]) == {"digits", "gauss1d", "ring8", "grid25"}
    assert params["download"]["retries"] >= 1


@pytest.mark.parametrize("preset", sorted((REPO / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_every_preset_is_valid_and_keeps_the_default_variants_comparable(preset):
    params, default = load_params(preset), load_params(REPO / "params.yaml")
    for name in set(default["datasets"]) & set(params["datasets"]):  # the same data as the default's
        assert params["datasets"][name] == default["datasets"][name], name
    for pair in params["report"]["comparisons"]:  # a named ablation differs in one option only
        a, b = (resolve_variant(params, v) for v in pair)
        assert len([k for k in a if a[k] != b[k]]) == 1, pair
    assert f"cp configs/{preset.name} params.yaml" in (REPO / "README.md").read_text()


def test_schema_defaults_fill_omitted_keys():
    raw = default_params()
    raw["datasets"]["fashion_mnist"] = None  # `fashion_mnist:` alone means all defaults
    del raw["download"]["timeout_s"]
    params = validate_params(raw)
    assert params["datasets"]["fashion_mnist"] == {
        "mirrors": ["/usr/share/datasets/fashion-mnist", "torchvision"], "side": 32, "resize": "pad"}
    assert params["download"]["timeout_s"] == 60


def test_a_folder_dataset_takes_any_free_name_and_its_defaults():
    raw = default_params()
    raw["datasets"]["faces"] = {"folder": "data/faces"}
    raw["variants"]["ns_mlp_faces"] = {"dataset": "faces", "model": "mlp", "loss": "non_saturating"}
    params = validate_params(raw)
    assert params["datasets"]["faces"] == {"folder": "data/faces", "channels": 3, "side": 32, "resize": "bilinear",
                                           "crop": "none", "background": 0, "test_fraction": 0.1}


def test_variant_inherits_train_defaults_and_overrides_them():
    params = load_params(REPO / "params.yaml")
    v = resolve_variant(params, "ns_toy_ring8")
    assert v["z_dim"] == 2 and params["train"]["z_dim"] == 100  # overridden
    assert v["lr_g"] == params["train"]["lr_g"] and v["noise"] == params["train"]["noise"]  # inherited


def _edit(fn):
    params = copy.deepcopy(default_params())
    fn(params)
    return params


BAD = {
    "unknown_top_key": (lambda p: p.update(extra=1), "extra: unknown key"),
    "unknown_stage_key": (lambda p: p["download"].update(retry=3), "download.retry: unknown key"),
    "unknown_dataset_key": (lambda p: p["datasets"]["ring8"].update(radious=2), "datasets.ring8.radious: unknown key"),
    "unknown_variant_key": (lambda p: p["variants"]["ns_mlp_digits"].update(lr=1), "variants.ns_mlp_digits.lr: unknown key"),
    "unknown_train_key": (lambda p: p["train"].update(epochz=3), "train.epochz: unknown key"),
    "unknown_dataset_name": (lambda p: p["datasets"].update(imagenet={}), "datasets.imagenet: unknown key"),
    "unknown_model": (lambda p: p["variants"]["ns_mlp_digits"].update(model="resnet"), "variants.ns_mlp_digits.model: 'resnet' is not one of"),
    "unknown_loss": (lambda p: p["variants"]["ns_mlp_digits"].update(loss="nonsat"), "variants.ns_mlp_digits.loss: 'nonsat' is not one of"),
    "wrong_type": (lambda p: p["download"].update(retries="four"), "download.retries: 'four' is not of type 'integer'"),
    "zero_size": (lambda p: p["datasets"]["ring8"].update(n_train=0), "datasets.ring8.n_train: 0 is less than the minimum of 1"),
    "negative_sigma": (lambda p: p["datasets"]["grid25"].update(sigma=-1), "datasets.grid25.sigma: -1 is less than or equal to the minimum of 0"),
    "lr_not_positive": (lambda p: p["train"].update(lr_d=0), "train.lr_d: 0 is less than or equal to the minimum of 0"),
    "seed_not_integer": (lambda p: p["train"].update(seeds=[0, 1.5]), "train.seeds.1: 1.5 is not of type 'integer'"),
    "side_not_power_of_two": (lambda p: p["datasets"]["digits"].update(side=12), "datasets.digits.side: 12 is not one of"),
    "missing_required": (lambda p: p["variants"]["ns_mlp_digits"].pop("loss"), "variants.ns_mlp_digits: 'loss' is a required property"),
    "empty_variants": (lambda p: p.update(variants={}), "variants: {} should be non-empty"),
    "undeclared_dataset": (lambda p: p["variants"]["ns_mlp_digits"].update(dataset="mnist"), "variants.ns_mlp_digits.dataset: 'mnist' is not declared under `datasets`"),
    "model_for_wrong_data": (lambda p: p["variants"]["ns_toy_ring8"].update(model="mlp"), "variants.ns_toy_ring8.model: 'mlp' is a network for images"),
    "dcgan_side": (lambda p: (p["datasets"]["digits"].update(side=128), p["variants"]["ns_mlp_digits"].update(model="dcgan")), "variants.ns_mlp_digits.model: dcgan supports image sides"),
    "pack_not_dividing_batch": (lambda p: p["variants"]["ns_toy_ring8"].update(pack=3), "variants.ns_toy_ring8.pack: 3 does not divide the batch size 64"),
    "pack_zero": (lambda p: p["train"].update(pack=0), "train.pack: 0 is less than the minimum of 1"),
    "folder_unknown_key": (lambda p: p["datasets"].update(faces={"folder": "f", "size": 32}), "datasets.faces.size: unknown key"),
    "folder_channels": (lambda p: p["datasets"].update(faces={"folder": "f", "channels": 2}), "datasets.faces.channels: 2 is not one of [1, 3]"),
    "folder_empty_path": (lambda p: p["datasets"].update(faces={"folder": ""}), "datasets.faces.folder: '' should be non-empty"),
    "dataset_name_not_a_word": (lambda p: p["datasets"].update({"my faces": {"folder": "f"}}), "datasets: 'my faces' does not match"),
    "folder_for_toy_model": (lambda p: (p["datasets"].update(faces={"folder": "f"}), p["variants"]["ns_toy_ring8"].update(dataset="faces")), "variants.ns_toy_ring8.model: 'toy_mlp' is for point data; faces is an image dataset"),
    # unknown keys in every section, below the top level too
    "unknown_classifier_key": (lambda p: p["classifier"].update(epochs=3), "classifier.epochs: unknown key"),
    "unknown_reference_key": (lambda p: p["reference"].update(images=10), "reference.images: unknown key"),
    "unknown_inception_key": (lambda p: p["reference"]["inception"].update(md5="x"), "reference.inception.md5: unknown key"),
    "unknown_evaluate_key": (lambda p: p["evaluate"].update(n_sample=10), "evaluate.n_sample: unknown key"),
    "unknown_report_key": (lambda p: p["report"].update(ci=0.9), "report.ci: unknown key"),
    "unknown_diagnostics_key": (lambda p: p["train"]["diagnostics"].update(nan=1), "train.diagnostics.nan: unknown key"),
    "unknown_resources_key": (lambda p: p["resources"]["train"].update(gpus=2), "resources.train.gpus: unknown key"),
    "unknown_extractor": (lambda p: p["reference"].update(extractors=["classifier", "clip"]), "reference.extractors.1: 'clip' is not one of"),
    "negative_size": (lambda p: p["train"].update(batch_size=-64), "train.batch_size: -64 is less than the minimum of 1"),
    "negative_samples": (lambda p: p["evaluate"].update(n_samples=-1), "evaluate.n_samples: -1 is less than the minimum of 1"),
    "early_stop_without_snapshots": (lambda p: (p["train"].update(snapshot_every=0), p["variants"]["ns_toy_ring8"].update(early_stop={"patience": 3, "min_delta": 0.0, "target": None})), "variants.ns_toy_ring8.early_stop: a run is scored at its snapshots, but snapshot_every is 0"),
    "early_stop_partial": (lambda p: p["variants"]["ns_toy_ring8"].update(early_stop={"patience": 3}), "variants.ns_toy_ring8.early_stop: 'min_delta' is a required property"),
    "early_stop_patience_zero": (lambda p: p["train"]["early_stop"].update(patience=0), "train.early_stop.patience: 0 is less than the minimum of 1"),
    "pad_cannot_shrink": (lambda p: p["datasets"].update(cifar10={"side": 16, "resize": "pad"}), "datasets.cifar10.side: 16 is smaller than the native 32"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_params_exit_2_and_name_the_key(case, tmp_path, capsys):
    edit, expected = BAD[case]
    write_params(tmp_path, _edit(edit))
    code = main(["download", "--dataset", "digits", "--params", str(tmp_path / "params.yaml"),
                 "--results", str(tmp_path / "results")])
    err = capsys.readouterr().err
    assert code == 2
    assert expected in err, err
    assert not (tmp_path / "results").exists()  # nothing written


def test_duplicate_yaml_keys_are_refused(tmp_path):
    text = (REPO / "params.yaml").read_text().replace("variants:\n", "variants:\n  ns_mlp_digits: {dataset: digits, model: mlp, loss: hinge}\n", 1)
    (tmp_path / "params.yaml").write_text(text)
    with pytest.raises(ParamsError, match="duplicate key 'ns_mlp_digits'"):
        load_params(tmp_path / "params.yaml")


def test_every_problem_is_reported_at_once():
    raw = _edit(lambda p: (p["download"].update(retries=0), p["train"].update(noise="cauchy")))
    with pytest.raises(ParamsError) as info:
        validate_params(raw)
    assert [m.split(":")[0] for m in info.value.problems] == ["download.retries", "train.noise"]


def test_module_entry_point_exits_2_on_bad_params(tmp_path):
    write_params(tmp_path, _edit(lambda p: p["variants"]["ns_mlp_digits"].update(loss="nonsat")))
    proc = cli(["prepare", "--dataset", "digits"], cwd=tmp_path, check=False)
    assert proc.returncode == 2
    assert "params.yaml: variants.ns_mlp_digits.loss: 'nonsat' is not one of" in proc.stderr
    assert not (tmp_path / "results").exists()


def test_undeclared_dataset_on_the_command_line_exits_2(tmp_path, capsys):
    write_params(tmp_path, default_params())
    code = main(["download", "--dataset", "mnist", "--params", str(tmp_path / "params.yaml"),
                 "--results", str(tmp_path / "results")])
    assert code == 2
    assert "--dataset: 'mnist' is not declared under `datasets`" in capsys.readouterr().err
    assert not (tmp_path / "results").exists()


def test_missing_params_file_exits_2(tmp_path, capsys):
    assert main(["validate", "--params", str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml: cannot read" in capsys.readouterr().err


def test_help_lists_every_stage(tmp_path):
    out = cli(["--help"], cwd=tmp_path).stdout
    for stage, option in (("download", "--dataset"), ("prepare", "--dataset"), ("train", "--variant")):
        assert stage in out
        assert option in cli([stage, "--help"], cwd=tmp_path).stdout

