"""Inception-v3 features (pool3 + logits), images/s: ours vs torch-fidelity's and pytorch-fid's
own pipelines on the same images and the same (randomly initialised) weights.

Each pipeline is run the way its users run it: ours on the uint8 samples in memory
(as `evaluate` does); torch-fidelity through get_featuresdict_from_dataset (its
DataLoader, workers as calculate_metrics sets them); pytorch-fid through
get_activations over PNG files in a folder (what `python -m pytorch_fid dir1 dir2`
does, workers as its CLI sets them). FLOPs per image are counted by torch's
FlopCounterMode, so the achieved TFLOP/s on a GPU can be read against its peak.
"""

from __future__ import annotations

import contextlib
import copy
import os
import tempfile
from pathlib import Path

import torch

from benchmarks.common import machine, timed

# Dense peak TFLOP/s from NVIDIA's datasheets (not measured here), by the name torch reports, to
# read the achieved rate against: fp32 on CUDA cores, tf32 (cuDNN's default for convolutions) and
# bf16 on tensor cores. Other names (H200 NVL, ...) get none rather than a wrong one.
SXM5 = {"fp32": 67.0, "tf32": 494.7, "bf16": 989.4}
A100 = {"fp32": 19.5, "tf32": 156.0, "bf16": 312.0}
PEAK_TFLOPS = {
    "NVIDIA H200": SXM5,
    "NVIDIA H100 80GB HBM3": SXM5,
    "NVIDIA H100 PCIe": {"fp32": 51.2, "tf32": 378.0, "bf16": 756.0},
    "NVIDIA A100-SXM4-80GB": A100, "NVIDIA A100-SXM4-40GB": A100,
    "NVIDIA A100 80GB PCIe": A100, "NVIDIA A100-PCIE-40GB": A100,
}


def peak_tflops(device_name: str) -> dict | None:
    peak = PEAK_TFLOPS.get(device_name.strip())
    return {"source": "NVIDIA datasheet, dense", **peak} if peak else None


def flops_per_image(net: torch.nn.Module, device: torch.device) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.zeros(1, 3, 32, 32, dtype=torch.uint8, device=device)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        net(x)
    return float(counter.get_total_flops())


class UInt8Images(torch.utils.data.Dataset):
    def __init__(self, images: torch.Tensor):
        self.images = images

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.images[i]


def pytorch_fid_model(weights: Path, device: torch.device):
    """pytorch-fid's FID Inception with our weights file (its loader only downloads)."""
    from pytorch_fid import inception as pfi

    original = pfi.load_state_dict_from_url
    pfi.load_state_dict_from_url = lambda *a, **k: torch.load(weights, map_location="cpu")
    try:
        return pfi.InceptionV3([pfi.InceptionV3.BLOCK_INDEX_BY_DIM[2048]]).to(device).eval()
    finally:
        pfi.load_state_dict_from_url = original


@contextlib.contextmanager
def strict_fp32(on: bool):
    """cuDNN convolutions in true float32 instead of torch's default TF32 (on GPUs since Ampere)."""
    before = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = before and not on
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32 = before


def variant(ours, images: torch.Tensor, batch: int, device: torch.device, reference: dict,
            memory_format: torch.memory_format = torch.channels_last, bf16: bool = False,
            fp32: bool = False) -> dict:
    """Our extractor in another memory layout (contiguous: torch-fidelity's own), under bf16
    autocast, or with TF32 off (`fp32`): images/s and how far its features move from ours (the
    largest pool3 difference relative to the mean |feature|, and the Fréchet distance between
    the two sets' statistics)."""
    from pipeline_src.metrics.frechet import frechet_distance, statistics

    extractor = copy.copy(ours)
    extractor.net = copy.deepcopy(ours.net).to(memory_format=memory_format)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
    result: dict = {}
    with autocast, strict_fp32(fp32):
        extractor(images[:batch], batch, desc="warm-up")
        t = timed(lambda: result.update(extractor(images, batch, desc="variant")), repeats=1, warmup=0, device=device)
    a, b = reference["pool3"], result["pool3"]
    return {**t, "images_per_s": len(images) / t["median_s"],
            "max_pool3_difference_relative": float(abs(a - b).max() / abs(a).mean()),
            "frechet_distance_to_fp32_features": frechet_distance(*statistics(a), *statistics(b))}


def run(args) -> dict:
    from torch_fidelity.utils import get_featuresdict_from_dataset

    from pipeline_src.features.inception import InceptionExtractor, write_random_weights
    from pipeline_src.devices import resolve_device

    device = resolve_device(args.device)
    on_gpu = device.type == "cuda"
    n = (2000 if on_gpu else 200) if not args.quick else 40
    batch = 200 if on_gpu else 50  # pytorch-fid's default batch is 50
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=gen)  # CIFAR-sized, upsampled to 299
    workers = min(8, os.cpu_count() or 1)
    out: dict = {"machine": machine(device.type),
                 "config": {"n_images": n, "batch_size": batch, "image": "3x32x32 uint8 -> 299x299", "workers": workers}}
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "random-inception.pth"
        write_random_weights(weights)
        ours = InceptionExtractor(weights, device)
        out["gflop_per_image"] = flops_per_image(ours.net, device) / 1e9
        ours(images[:batch], batch, desc="warm-up")  # cuDNN autotuning, lazy init: not timed
        result = {}
        t = timed(lambda: result.update(ours(images, batch, desc="ours")), repeats=1, warmup=0, device=device)
        out["ours"] = {**t, "images_per_s": n / t["median_s"]}

        fidelity_net = copy.deepcopy(ours.net).to(memory_format=torch.contiguous_format)  # as torch-fidelity builds it
        dataset = UInt8Images(images)
        theirs = {}
        t = timed(lambda: theirs.update(get_featuresdict_from_dataset(dataset, fidelity_net, batch, on_gpu,
                                                                      save_cpu_ram=False, verbose=False)),
                  repeats=1, warmup=0, device=device)
        out["torch_fidelity"] = {**t, "images_per_s": n / t["median_s"]}
        out["torch_fidelity"]["max_abs_feature_difference"] = float(
            (theirs["2048"].double() - torch.from_numpy(result["pool3"])).abs().max())

        try:
            from PIL import Image
            from pytorch_fid.fid_score import get_activations
        except ImportError as e:
            out["pytorch_fid"] = {"unavailable": f"pytorch-fid is not installed ({e})"}
        else:
            folder = Path(tmp) / "png"
            folder.mkdir()
            files = []
            for i, image in enumerate(images.permute(0, 2, 3, 1).numpy()):
                files.append(folder / f"{i:05d}.png")
                Image.fromarray(image).save(files[-1])
            model = pytorch_fid_model(weights, device)
            with torch.no_grad():  # warm-up, not timed
                model(images[:batch].to(device).float() / 255)
            acts = {}
            t = timed(lambda: acts.update(a=get_activations(files, model, batch, 2048, device, workers)),
                      repeats=1, warmup=0, device=device)
            out["pytorch_fid"] = {**t, "images_per_s": n / t["median_s"],
                                  "note": "bilinear F.interpolate resize (not TF1's): features differ from ours"}
        if not args.quick:  # our layout against torch-fidelity's, and bf16 (an option measured before it is offered)
            out["ours_contiguous"] = variant(ours, images, batch, device, result, torch.contiguous_format)
            out["ours_bf16"] = variant(ours, images, batch, device, result, bf16=True)
            if on_gpu:  # ours runs cuDNN's default TF32 convolutions there; true float32 beside it
                out["ours_strict_fp32"] = variant(ours, images, batch, device, result, fp32=True)
    for name in ("torch_fidelity", "pytorch_fid"):
        if "images_per_s" in out.get(name, {}):
            out[f"speedup_vs_{name}"] = out["ours"]["images_per_s"] / out[name]["images_per_s"]
            for v in ("contiguous", "bf16", "strict_fp32"):
                if f"ours_{v}" in out:
                    out[f"speedup_{v}_vs_{name}"] = out[f"ours_{v}"]["images_per_s"] / out[name]["images_per_s"]
    for key in [k for k in out if k.startswith("ours")]:
        out[key]["tflop_per_s"] = out[key]["images_per_s"] * out["gflop_per_image"] / 1e3
    if on_gpu:
        out["peak_tflop_per_s"] = peak_tflops(out["machine"]["device_name"])
    return out
