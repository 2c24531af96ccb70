"""Bad image folders (`datasets.<name>.folder`): mixed sizes, files that are not images,
a damaged image, a flat folder without classes, a missing folder. Each exits 2 with a
message naming the file (and the folder it came from) and leaves nothing behind that a
driver would take for a finished download or prepare."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from tests.conftest import write_params
from tests.pipeline.test_folder_dataset import folder_params, write_folder


def outputs(workdir: Path) -> list[str]:
    data = workdir / "results/data/shapes"
    return sorted(p.name for p in data.iterdir()) if data.is_dir() else []


def fails(run_stage, workdir: Path, stage: str) -> str:
    result = run_stage(workdir, stage, "--dataset", "shapes", check=False)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr


def test_images_of_mixed_sizes_are_refused_naming_both_files(tmp_path, run_stage):
    write_folder(tmp_path / "images")
    odd = tmp_path / "images/squares/img03.png"
    Image.new("RGB", (17, 16)).save(odd)
    write_params(tmp_path, folder_params(tmp_path / "images"))
    run_stage(tmp_path, "download", "--dataset", "shapes")
    err = fails(run_stage, tmp_path, "prepare")
    assert "squares/img03.png" in err and str(odd) in err and "17x16" in err and "16x16" in err
    assert "crop: center" in err  # what to write for images of several sizes
    assert outputs(tmp_path) == ["raw"]  # no train.pt, test.pt or meta.json


def test_a_file_that_is_not_an_image_is_refused_by_download_naming_it(tmp_path, run_stage):
    write_folder(tmp_path / "images")
    notes = tmp_path / "images/crosses/notes.txt"
    notes.write_text("labelled by hand")
    write_params(tmp_path, folder_params(tmp_path / "images"))
    err = fails(run_stage, tmp_path, "download")
    assert str(notes) in err and "not an image file" in err
    assert outputs(tmp_path) == []  # no raw/ (not even a partial copy)


def test_a_damaged_image_is_refused_by_prepare_naming_the_copy_and_its_source(tmp_path, run_stage):
    write_folder(tmp_path / "images")
    broken = tmp_path / "images/circles/img04.png"
    broken.write_bytes(broken.read_bytes()[:60])  # cut short: the header survives, the pixels do not
    fake = tmp_path / "images/circles/img05.png"
    fake.write_text("<html>an error page saved as .png</html>")
    write_params(tmp_path, folder_params(tmp_path / "images"))
    run_stage(tmp_path, "download", "--dataset", "shapes")
    err = fails(run_stage, tmp_path, "prepare")
    assert "raw/images/circles/img04.png" in err and f"copied from {broken}" in err and "not a readable image" in err
    assert outputs(tmp_path) == ["raw"]
    broken.unlink()
    run_stage(tmp_path, "download", "--dataset", "shapes")
    err = fails(run_stage, tmp_path, "prepare")
    assert f"copied from {fake}" in err


def test_a_folder_without_class_subfolders_or_without_images_is_refused(tmp_path, run_stage):
    flat = tmp_path / "flat"
    flat.mkdir()
    Image.new("RGB", (16, 16)).save(flat / "a.png")
    write_params(tmp_path, folder_params(flat))
    err = fails(run_stage, tmp_path, "download")
    assert str(flat / "a.png") in err and "one subfolder per class" in err
    single = tmp_path / "single"
    (single / "only").mkdir(parents=True)
    Image.new("RGB", (16, 16)).save(single / "only/a.png")
    write_params(tmp_path, folder_params(single))
    assert "1 class subfolder(s), at least 2" in fails(run_stage, tmp_path, "download")
    (single / "empty").mkdir()
    write_params(tmp_path, folder_params(single))
    assert f"{single / 'empty'}: class folder without images" in fails(run_stage, tmp_path, "download")
    assert outputs(tmp_path) == []


def test_a_missing_folder_is_refused_naming_the_key(tmp_path, run_stage):
    write_params(tmp_path, folder_params(tmp_path / "nowhere"))
    err = fails(run_stage, tmp_path, "download")
    assert "datasets.shapes.folder" in err and str(tmp_path / "nowhere") in err
    assert outputs(tmp_path) == []


def test_links_out_of_the_folder_are_refused_and_links_inside_it_are_followed(tmp_path, run_stage):
    """`download` copies the folder into raw/, which `dvc push` shares: a link to a file outside
    (here a stand-in for /etc/passwd) must not take that file along."""
    write_folder(tmp_path / "images")
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"not for sharing")
    link = tmp_path / "images/squares/img99.png"
    link.symlink_to(secret)
    write_params(tmp_path, folder_params(tmp_path / "images"))
    err = fails(run_stage, tmp_path, "download")
    assert f"{link}: a link to {secret}, outside {tmp_path / 'images'}" in err
    assert outputs(tmp_path) == []

    link.unlink()
    link.symlink_to(tmp_path / "images/squares/img00.png")  # inside the folder: followed
    run_stage(tmp_path, "download", "--dataset", "shapes")
    assert (tmp_path / "results/data/shapes/raw/images/squares/img99.png").read_bytes() == \
        (tmp_path / "images/squares/img00.png").read_bytes()
