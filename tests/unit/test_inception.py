"""The Inception path end to end with randomly initialised weights saved to a file:
torch-fidelity's TF-compatible network, our weights resolution and sha256 pinning."""


import numpy as np
import pytest
import torch

from pipeline_src.errors import InputError
from pipeline_src.features.inception import (WEIGHTS_FILE, InceptionExtractor, WeightsUnavailable,
                                             hub_cache_path, resolve_weights)
from pipeline_src.io import file_digest


@pytest.fixture(scope="module")
def extractor(inception_weights):
    torch.manual_seed(0)
    return InceptionExtractor(inception_weights.path, torch.device("cpu"))


def images(n, channels=1, side=8, seed=0):
    return torch.randint(0, 256, (n, channels, side, side), generator=torch.Generator().manual_seed(seed),
                         dtype=torch.uint8)


def test_features_are_2048_d_pool3_and_1008_logits(extractor):
    out = extractor(images(3), batch_size=3)
    assert out["pool3"].shape == (3, 2048) and out["logits"].shape == (3, 1008)
    assert out["pool3"].dtype == np.float64 and np.isfinite(out["pool3"]).all()
    assert out["pool3"].std() > 1e-3  # the He-initialised random net keeps features informative


def test_features_do_not_depend_on_the_batch_size(extractor):
    x = images(5, seed=1)
    one_batch, small_batches = extractor(x, batch_size=5), extractor(x, batch_size=2)
    # float32 convolutions may sum in another order for another batch size
    np.testing.assert_allclose(small_batches["pool3"], one_batch["pool3"], rtol=1e-4, atol=1e-5)


def test_features_equal_torch_fidelitys_own_network_to_float32_rounding(extractor, inception_weights):
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    stock = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"],
                                        feature_extractor_weights_path=str(inception_weights.path)).eval()
    x = images(4, channels=3, side=16, seed=3)
    with torch.no_grad():
        (theirs,) = stock(x)
    ours = extractor(x, batch_size=4)["pool3"]
    # channels-last convolutions sum in another order: float32 rounding, nothing more
    np.testing.assert_allclose(ours, theirs.double().numpy(), rtol=1e-4, atol=1e-4 * np.abs(ours).mean())


def test_grayscale_is_tiled_to_three_channels(extractor):
    gray = images(2, channels=1, seed=2)
    rgb = gray.expand(-1, 3, -1, -1).contiguous()
    np.testing.assert_array_equal(extractor(gray, 2)["pool3"], extractor(rgb, 2)["pool3"])


def options(**kw):
    base = {"weights": None, "url": None, "sha256": "0" * 64, "timeout_s": 5}
    return {**base, **kw}


def test_a_configured_weights_file_with_another_sha256_is_an_error_naming_it(inception_weights):
    with pytest.raises(InputError, match=rf"{inception_weights.path}: sha256 .* is not the pinned"):
        resolve_weights(options(weights=str(inception_weights.path)))
    assert resolve_weights(options(weights=str(inception_weights.path), sha256=inception_weights.sha256)) \
        == inception_weights.path


def test_a_configured_weights_path_that_does_not_exist_names_the_key(tmp_path):
    with pytest.raises(InputError, match="reference.inception.weights: .*: no such file"):
        resolve_weights(options(weights=str(tmp_path / "nope.pth")))


def test_no_weights_and_no_url_is_unavailable_with_the_reason(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(WeightsUnavailable, match="no Inception weights.*reference.inception.weights"):
        resolve_weights(options())


def test_download_goes_to_the_hub_cache_after_its_sha256_is_checked(tmp_path, monkeypatch, file_server,
                                                                     inception_weights):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    file_server.add("/" + WEIGHTS_FILE, inception_weights.path.read_bytes())
    url = f"{file_server.url}/{WEIGHTS_FILE}"
    with pytest.raises(WeightsUnavailable, match="sha256 .* not the pinned"):
        resolve_weights(options(url=url))
    assert not hub_cache_path().exists() and not list(hub_cache_path().parent.glob("*.tmp"))  # nothing half-kept
    path = resolve_weights(options(url=url, sha256=inception_weights.sha256))
    assert path == hub_cache_path() and file_digest(path) == inception_weights.sha256
    requests = len(file_server.requests)
    assert resolve_weights(options(url=url, sha256=inception_weights.sha256)) == path  # from the cache now
    assert len(file_server.requests) == requests


def test_an_unreachable_url_is_unavailable_naming_it(tmp_path, monkeypatch, file_server):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    url = f"{file_server.url}/missing.pth"
    with pytest.raises(WeightsUnavailable, match=f"cannot download the Inception weights from {url}"):
        resolve_weights(options(url=url))


def test_a_file_that_is_not_inception_weights_is_an_error_naming_it(tmp_path):
    path = tmp_path / "other.pth"
    torch.save(torch.nn.Linear(2, 2).state_dict(), path)
    with pytest.raises(InputError, match=f"{path}: not Inception FID weights"):
        InceptionExtractor(path, torch.device("cpu"))


def test_params_pin_the_same_weights_as_the_code(tmp_path):
    """The pin is written in params.yaml, the schema's defaults and inception.py: they must agree."""
    from pipeline_src.features.inception import WEIGHTS_SHA256, WEIGHTS_URL
    from pipeline_src.params import validate_params
    from tests.conftest import default_params

    written = default_params()["reference"]["inception"]
    assert (written["url"], written["sha256"]) == (WEIGHTS_URL, WEIGHTS_SHA256)
    params = default_params()
    params["reference"]["inception"] = {}  # every key from the schema's defaults
    filled = validate_params(params)["reference"]["inception"]
    assert (filled["url"], filled["sha256"], filled["weights"]) == (WEIGHTS_URL, WEIGHTS_SHA256, None)
