"""Files that arrive from outside the pipeline cannot run code: a resume checkpoint in a run
folder copied from elsewhere, and CIFAR-10's pickled batches in a raw/ folder pulled from a DVC
remote or copied from another workspace. Each payload below would create a marker file if it
were unpickled with plain pickle; the stage must refuse the file by name (exit 2) and the marker
must not exist."""

from __future__ import annotations

import io
import json
import pickle
import tarfile
from pathlib import Path

import torch

from tests.conftest import default_params, sha256, tiny_params, write_params
from tests.pipeline.test_download import FAST, md5, serve
from tests.pipeline.test_prepare import build, tiny_cifar10_tar
from tests.pipeline.test_train import prepared, run_folder, train


class Payload:
    """Unpickled by plain pickle, this opens (so creates) `marker`: any code could run there."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


def test_a_resume_checkpoint_carrying_code_is_refused_and_the_code_never_runs(tmp_path, run_stage):
    ws = prepared(run_stage, tmp_path, tiny_params(), "ring8")
    marker = tmp_path / "marker"
    resume = run_folder(ws, "ns_toy_ring8") / ".resume" / "checkpoint.pt"
    resume.parent.mkdir(parents=True)
    torch.save({"fingerprint": "anything", "state": {"step": Payload(marker)}}, resume)
    assert not marker.exists()

    result = train(run_stage, ws, "ns_toy_ring8", check=False)
    assert result.returncode == 2, result.stderr
    assert not marker.exists()  # weights_only: the payload's global is refused before anything is called
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith(f"error: {resume.relative_to(ws)}: cannot be read"), error
    assert "Traceback" not in result.stderr
    assert not (run_folder(ws, "ns_toy_ring8") / "generator.pt").exists()


def cifar_params(blob: bytes, file_server) -> dict:
    params = default_params()
    params["download"] = FAST
    params["datasets"] = {"cifar10": {"mirrors": [serve(file_server, "/c", {"cifar-10-python.tar.gz": blob})],
                                      "checksums": {"cifar-10-python.tar.gz": md5(blob)}, "side": 32, "resize": "pad"}}
    params["variants"] = {"v": {"dataset": "cifar10", "model": "mlp", "loss": "hinge"}}
    params["report"]["comparisons"] = []
    return params


def cifar_tar_with_payload(marker: Path) -> bytes:
    """The published layout with one training batch replaced by a payload."""
    good = tarfile.open(fileobj=io.BytesIO(tiny_cifar10_tar()), mode="r:gz")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for member in good.getmembers():
            data = good.extractfile(member).read()
            if member.name.endswith("data_batch_1"):
                data = pickle.dumps({"data": Payload(marker), "labels": [0]})
                member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    return buf.getvalue()


def test_a_tampered_cifar_archive_in_raw_is_refused_by_its_pinned_md5_and_never_unpickled(
        tmp_path, run_stage, file_server):
    """raw/ replaced from outside together with its manifest (as a copied or pulled folder would be):
    the manifest's sha256 agrees with the file, the md5 pinned in params does not."""
    good = tiny_cifar10_tar()
    ws = tmp_path / "ws"
    build(run_stage, ws, cifar_params(good, file_server), "cifar10")
    marker = tmp_path / "marker"
    raw = ws / "results/data/cifar10/raw"
    (raw / "cifar-10-python.tar.gz").write_bytes(cifar_tar_with_payload(marker))
    manifest = json.loads((raw / "manifest.json").read_text())
    manifest["files"]["cifar-10-python.tar.gz"]["sha256"] = sha256(raw / "cifar-10-python.tar.gz")
    (raw / "manifest.json").write_text(json.dumps(manifest))

    result = run_stage(ws, "prepare", "--dataset", "cifar10", check=False)
    assert result.returncode == 2, result.stderr
    assert not marker.exists()
    assert "results/data/cifar10/raw/cifar-10-python.tar.gz: md5" in result.stderr
    assert "it is not the published file: delete results/data/cifar10/raw and rerun download" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_cifar_batch_carrying_code_is_refused_by_the_unpickler_even_with_its_md5_pinned(
        tmp_path, run_stage, file_server):
    """The md5 in params is the tampered archive's own (a user pinned a bad copy): the restricted
    unpickler, which admits numpy arrays and plain containers only, still refuses the batch."""
    marker = tmp_path / "marker"
    evil = cifar_tar_with_payload(marker)
    ws = tmp_path / "ws"
    ws.mkdir()
    write_params(ws, cifar_params(evil, file_server))
    run_stage(ws, "download", "--dataset", "cifar10")
    result = run_stage(ws, "prepare", "--dataset", "cifar10", check=False)
    assert result.returncode == 2, result.stderr
    assert not marker.exists()
    assert "cifar-10-batches-py/data_batch_1: not a CIFAR-10 batch (UnpicklingError: io.open is not allowed" \
        in result.stderr
    assert "Traceback" not in result.stderr
    assert not (ws / "results/data/cifar10/meta.json").exists()
