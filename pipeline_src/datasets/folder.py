"""A folder of the user's own images: `datasets.<name>.folder` in params.yaml.

The layout is torchvision's ImageFolder: one subfolder per class, the images
anywhere below it. Class indices follow the sorted subfolder names. Hidden
files and folders (a leading dot: .DS_Store, .ipynb_checkpoints) are skipped;
any other file that is not an image is an error naming the file, raised before
anything is written. Images of several sizes need `crop: center` (each is cut to
its centred square, then brought to `side`, as stylegan2-ada's dataset_tool does);
without it an image of another size than the rest is an error naming it.
Transparent images (RGBA, palettes with a transparent colour) are laid over the
`background` grey level rather than losing their alpha channel.
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


def _opaque(im, channels: int, background: int):
    """`im` in the dataset's mode; a transparent image laid over the grey level `background` first."""
    from PIL import Image

    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        im = Image.alpha_composite(Image.new("RGBA", rgba.size, (background,) * 3 + (255,)), rgba)
    return im.convert(MODES[channels])


def _centre_square(array: np.ndarray) -> np.ndarray:
    """(H, W, C) -> its centred (s, s, C) square, s = min(H, W)."""
    h, w = array.shape[:2]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    return array[top:top + s, left:left + s]


def read_images(files: list[Path], options: dict, origin=lambda path: "") -> np.ndarray:
    """Decode every file into (N, C, H, W) uint8, as `options` (a folder dataset's) say: `channels`,
    `background`, and with `crop: center` each image's centred square brought to `side` by `resize`;
    without a crop all must share one size. `origin(path)` adds where a file came from to messages."""
    from PIL import Image, UnidentifiedImageError

    from pipeline_src.datasets.images import fit_side

    channels, crop = options["channels"], options["crop"]
    out: list[np.ndarray] = []
    first: tuple[Path, tuple[int, int]] | None = None
    for path in files:
        try:
            with Image.open(path) as im:
                im.load()  # decode now: a truncated file fails here, not later
                array = np.asarray(_opaque(im, channels, options["background"]), dtype=np.uint8)
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
            raise InputError(f"{path}{origin(path)}: not a readable image ({e})") from None
        array = array.reshape(array.shape[0], array.shape[1], -1)
        if crop == "center":
            square = _centre_square(array).transpose(2, 0, 1)
            try:
                out.append(fit_side(square[None], options["side"], options["resize"])[0])
            except InputError as e:
                raise InputError(f"{path}{origin(path)}: {e}") from None
            continue
        size = array.shape[:2]  # (H, W)
        if first is None:
            first = (path, size)
        elif size != first[1]:
            raise InputError(f"{path}{origin(path)}: {size[1]}x{size[0]} pixels, but {first[0]}{origin(first[0])} "
                             f"is {first[1][1]}x{first[1][0]}; every image of a folder dataset must have one size, "
                             "unless `crop: center` cuts each to its centred square (then `side` and `resize` bring "
                             "them to the training size)")
        out.append(array.transpose(2, 0, 1))
    return np.stack(out)


def drop_duplicates(x: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """The images with their labels, each distinct image once (its first occurrence, in file order),
    and how many were dropped: a copy (or a link) in the folder must not land in both splits."""
    import hashlib

    seen: set[bytes] = set()
    keep = []
    for i, image in enumerate(x):
        digest = hashlib.sha256(np.ascontiguousarray(image).tobytes()).digest()
        if digest not in seen:
            seen.add(digest)
            keep.append(i)
    return x[keep], labels[keep], len(x) - len(keep)
