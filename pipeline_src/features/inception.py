"""Inception-v3 features for FID/KID/IS/precision-recall, TF-compatible, from torch-fidelity.

The network is torch-fidelity's FeatureExtractorInceptionV3: the FID weights
converted from TensorFlow's inception-2015-12-05 graph, TF1's bilinear resize
to 299x299 without antialiasing, uint8 RGB in. We do not port it; we only
feed it (grayscale tiled to 3 channels) and pin its weights:

- weights are an input checked by sha256, found in this order: the path in
  params (`reference.inception.weights`), torch hub's cache (where
  torch-fidelity itself would put them), a download from `url` into that cache
  (by the `weights` stage only, which runs where the network is);
- when none works, `WeightsUnavailable` carries the reason, and the metrics
  that need Inception are recorded as unavailable with it. A file with the
  wrong sha256 is an error naming the file, never used.
"""

from __future__ import annotations

import urllib.request
from pathlib import Path

import torch

from pipeline_src.errors import InputError
from pipeline_src.io import atomic_path, file_digest, load_json_file
from pipeline_src.paths import weights_record
from pipeline_src.progress import Progress, copy_stream

WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"
WEIGHTS_URL = "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/" + WEIGHTS_FILE
WEIGHTS_SHA256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"  # 95,628,359 bytes
RESIZE = "tf1-bilinear-299-noantialias"  # part of the reference-statistics cache key
FEATURES = {"pool3": "2048", "logits": "logits_unbiased"}  # our name -> torch-fidelity's feature name


class WeightsUnavailable(Exception):
    """The Inception weights cannot be had here; the message says why and what to do."""


def hub_cache_path() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / WEIGHTS_FILE


def _checked(path: Path, sha256: str, what: str) -> Path:
    digest = file_digest(path)
    if digest != sha256:
        raise InputError(f"{path}: sha256 {digest} is not the pinned {sha256} of the Inception FID weights "
                         f"({what}); replace or delete the file")
    return path


def resolve_weights(options: dict, download: bool = True, why_not_here: str = "") -> Path:
    """The weights file to use, checked against options["sha256"].

    options: `reference.inception` of params.yaml (weights, url, sha256, timeout_s).
    download: whether this job may fetch `url` into the cache; why_not_here: when it may not,
    the reason missing weights give (built from what the stage that fetches them recorded).
    Raises InputError for a configured path that is missing or wrong, and
    WeightsUnavailable when the weights are nowhere to be had.
    """
    sha256 = options["sha256"]
    if options["weights"]:
        path = Path(options["weights"])
        if not path.is_file():
            raise InputError(f"reference.inception.weights: {path}: no such file")
        return _checked(path, sha256, "reference.inception.weights")
    cached = hub_cache_path()
    if cached.is_file():
        return _checked(cached, sha256, "torch hub cache")
    if not download:
        raise WeightsUnavailable(why_not_here)
    if not options["url"]:
        raise WeightsUnavailable(f"no Inception weights: {cached} does not exist and reference.inception.url is "
                                 f"null; set reference.inception.weights to a copy of {WEIGHTS_FILE}")
    try:
        with urllib.request.urlopen(options["url"], timeout=options["timeout_s"]) as response, \
                atomic_path(cached, shared=True) as tmp:  # every reference job may be fetching it
            size = response.headers.get("Content-Length")
            with open(tmp, "wb") as f:
                copy_stream(response, f, None if size is None else int(size), f"download {WEIGHTS_FILE}")
            digest = file_digest(tmp)
            if digest != sha256:
                raise WeightsUnavailable(f"{options['url']} delivered a file with sha256 {digest}, not the pinned "
                                         f"{sha256}; not used")
    except (OSError, ValueError) as e:  # URLError, timeouts, refused connections, bad URLs
        raise WeightsUnavailable(f"cannot download the Inception weights from {options['url']} "
                                 f"({e.__class__.__name__}: {e}); set reference.inception.weights to a local "
                                 f"copy of {WEIGHTS_FILE}") from None
    return cached


def recorded_weights(options: dict, results: Path) -> Path:
    """The checked Inception weights for a reference job, never fetched: it may run where there is
    no network; the `weights` stage fetches them first where there is (its record says how it went)."""
    record_file = weights_record(results)
    record = load_json_file(record_file, "rerun the weights stage") if record_file.is_file() else {}
    fix = f"set reference.inception.weights to a copy of {WEIGHTS_FILE}"
    if not isinstance(record, dict) or "available" not in record:
        why = (f"no Inception weights: {hub_cache_path()} does not exist (run the weights stage: it fetches "
               f"them where the network is); {fix}")
    elif record["available"]:
        why = f"no Inception weights: the weights stage found {record.get('path')}, which this machine does not see; {fix}"
    else:  # its reason says what to do already
        why = f"the weights stage recorded: {record.get('reason')}"
    return resolve_weights(options, download=False, why_not_here=why)


class InceptionExtractor:
    """uint8 images -> {"pool3": (N, 2048), "logits": (N, 1008)} float64 on CPU."""

    def __init__(self, weights: Path, device: torch.device):
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

        try:
            net = FeatureExtractorInceptionV3("inception-v3-compat", list(FEATURES.values()),
                                              feature_extractor_weights_path=str(weights))
        except (RuntimeError, KeyError, EOFError, ValueError) as e:
            raise InputError(f"{weights}: not Inception FID weights ({e.__class__.__name__}: {e})") from None
        # channels_last weights make every convolution run channels-last (oneDNN on CPU, cuDNN on GPU):
        # on CPU the same arithmetic summed in another order, features equal to float32 rounding
        # (tests/unit/test_inception.py), 1.4x the images/s on a 2-core CPU (benchmarks/README.md).
        # On a GPU, cuDNN convolves in TF32 (torch's default), as torch-fidelity and pytorch-fid do
        # there; the inception benchmark measures the difference to true float32 (`ours_strict_fp32`).
        self.net = net.to(device, memory_format=torch.channels_last)
        self.device = device

    @torch.no_grad()
    def __call__(self, images: torch.Tensor, batch_size: int, desc: str = "Inception features") -> dict:
        out: dict[str, list] = {name: [] for name in FEATURES}
        with Progress(len(images), desc) as bar:
            for start in range(0, len(images), batch_size):
                x = images[start:start + batch_size].to(self.device)
                if x.shape[1] == 1:
                    x = x.expand(-1, 3, -1, -1)  # grayscale tiled to RGB, as the reference implementations do
                for name, value in zip(FEATURES, self.net(x)):
                    out[name].append(value)  # kept on the device: no host sync per batch
                bar.update(len(x))
        return {name: torch.cat(parts).cpu().double().numpy() for name, parts in out.items()}


def write_random_weights(path: Path, seed: int = 0) -> str:
    """Save randomly initialised weights with the real network's layout; returns their sha256.

    For tests and benchmarks: the whole path (loading, resizing, features,
    statistics) runs without the real weights, which this machine may not have.
    """
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    class _Random(FeatureExtractorInceptionV3):
        def load_state_dict(self, state_dict, *args, **kwargs):  # keep the random initialisation
            return None

    empty = Path(path).with_suffix(".empty")
    torch.save({}, empty)
    torch.manual_seed(seed)
    try:
        net = _Random("inception-random", ["2048"], feature_extractor_weights_path=str(empty))
    finally:
        empty.unlink()
    for module in net.modules():  # He init keeps activations O(1) through 90+ layers (the default shrinks them)
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    with atomic_path(path) as tmp:
        torch.save(net.state_dict(), tmp)
    return file_digest(path)
