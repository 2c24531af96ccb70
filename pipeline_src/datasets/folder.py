"""A folder of the user's own images: `datasets.<name>.folder` in params.yaml.

The layout is torchvision's ImageFolder: one subfolder per class, the images
anywhere below it. Class indices follow the sorted subfolder names. Hidden
files and folders (a leading dot: .DS_Store, .ipynb_checkpoints) are skipped;
any other file that is not an image, or an image of another size than the
rest, is an error naming the file, raised before anything is written.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline_src.errors import InputError

FOLDER_IMAGES = "images"  # raw/images/{class}/...: the download stage's copy of the folder
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
MODES = {1: "L", 3: "RGB"}  # channels -> the PIL mode every image is converted to


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def list_images(root: Path, where: str) -> tuple[list[str], list[Path], list[int]]:
    """(classes, image files, class index per file), files in a fixed order.

    `where` names the source in messages (the params key of the folder).
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{where}: {root} is not a folder")
    top = sorted(p for p in root.iterdir() if not p.name.startswith("."))
    stray = [p for p in top if not p.is_dir()]
    if stray:
        raise InputError(f"{stray[0]}: a file at the top of {root}; images must sit in one subfolder per class "
                         f"({where})")
    classes = [p.name for p in top]
    if len(classes) < 2:
        raise InputError(f"{where}: {root} has {len(classes)} class subfolder(s), at least 2 are needed "
                         "(one subfolder per class; the classifier of FD_classifier learns them)")
    files: list[Path] = []
    labels: list[int] = []
    for index, cls in enumerate(classes):
        found = sorted(p for p in (root / cls).rglob("*") if p.is_file() and not _hidden(p, root))
        for path in found:
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                raise InputError(f"{path}: not an image file (expected one of {', '.join(IMAGE_SUFFIXES)}; "
                                 f"remove it or move it out of {root})")
        inside = root.resolve()
        for path in [root / cls, *found]:  # a link may point anywhere: its target would be copied into raw/
            if not path.resolve().is_relative_to(inside):
                raise InputError(f"{path}: a link to {path.resolve()}, outside {root}; copy the file into the "
                                 f"folder instead ({where})")
        if not found:
            raise InputError(f"{root / cls}: class folder without images ({where})")
        files += found
        labels += [index] * len(found)
    return classes, files, labels


def read_images(files: list[Path], channels: int, origin=lambda path: "") -> np.ndarray:
    """Decode every file into (N, C, H, W) uint8; all must share one size.

    `origin(path)` adds where a file came from to messages (the user's folder).
    """
    from PIL import Image, UnidentifiedImageError

    out: list[np.ndarray] = []
    first: tuple[Path, tuple[int, int]] | None = None
    for path in files:
        try:
            with Image.open(path) as im:
                im.load()  # decode now: a truncated file fails here, not later
                array = np.asarray(im.convert(MODES[channels]), dtype=np.uint8)
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
            raise InputError(f"{path}{origin(path)}: not a readable image ({e})") from None
        size = array.shape[:2]  # (H, W)
        if first is None:
            first = (path, size)
        elif size != first[1]:
            raise InputError(f"{path}{origin(path)}: {size[1]}x{size[0]} pixels, but {first[0]}{origin(first[0])} "
                             f"is {first[1][1]}x{first[1][0]}; every image of a folder dataset must have one size "
                             "(resize them beforehand; `side` and `resize` then bring them to the training size)")
        out.append(array.reshape(size[0], size[1], -1).transpose(2, 0, 1))
    return np.stack(out)
