"""Atomic file output and checksums.

Every output of the pipeline is written to a temporary name in the same folder
and renamed into place, so a killed stage never leaves a file (or folder) that
looks complete.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

CHUNK = 1 << 20  # 1 MiB reads for hashing and copying


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _cannot_write(path: Path, e: OSError) -> OSError:
    return OSError(e.errno, f"{path}: cannot write ({e.strerror or e}); the previous version, if any, is kept")


def sweep_leftovers(path: Path) -> None:
    """Remove what a killed writer of `path` left beside it: `.{name}.XXXXXXXX.tmp` (a file or a
    folder being written) and `.{name}.XXXXXXXX.old` (a folder being replaced), named by mkstemp
    and mkdtemp. One job owns each output, so any such file is a dead writer's; under
    results/data one would change DVC's hash of the folder and retrain every run."""
    leftover = re.compile(rf"\.{re.escape(path.name)}\.[a-z0-9_]{{8}}\.(tmp|old)")
    if not path.parent.is_dir():
        return
    for p in path.parent.iterdir():
        if leftover.fullmatch(p.name):
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() and not p.is_symlink() else p.unlink(missing_ok=True)


@contextmanager
def atomic_path(path: str | os.PathLike, shared: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` on success.

    On any exception the temporary file is removed and `path` is untouched. Leftovers of
    an earlier, killed writer are removed first, unless `path` is `shared`: written by
    whichever job needs it first (the feature cache), so another job may be writing it now.
    """
    path = Path(path)
    if not shared:
        sweep_leftovers(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:  # a read-only or full folder refuses even the temp file
        raise _cannot_write(path, e) from e
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual mode
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp_path, path)
        _fsync_dir(path.parent)
    except OSError as e:  # disk full, file too large, permissions: say which output
        tmp_path.unlink(missing_ok=True)
        raise _cannot_write(path, e) from e
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes, shared: bool = False) -> None:
    with atomic_path(path, shared) as tmp:
        tmp.write_bytes(data)


def atomic_write_lines(path: str | os.PathLike, lines: list[str]) -> None:
    """A text file of lines, each ended by a newline, written atomically."""
    atomic_write_bytes(path, "".join(line + "\n" for line in lines).encode())


def append_line(path: str | os.PathLike, line: str) -> None:
    """One line added to a log that grows while its job runs (log.csv, scores.csv), flushed: a
    reader (`tail -f`, a plot) and a killed job's file see every line written so far. The job
    wrote the file whole, atomically, when it started, and does again when it ends."""
    try:
        with open(path, "a") as f:
            f.write(line + "\n")
    except OSError as e:
        raise OSError(e.errno, f"{path}: cannot write ({e.strerror or e})") from None


def to_json(obj: Any) -> str:
    """Canonical JSON text: sorted keys, two-space indent, trailing newline."""
    return json.dumps(obj, indent=2, sort_keys=True) + "\n"


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    atomic_write_bytes(path, to_json(obj).encode())


def torch_bytes(obj: Any) -> bytes:
    """torch.save into memory: the bytes depend only on `obj`, not on the file name
    (torch names the zip archive after the file), so equal tensors give equal files."""
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def load_torch_file(path: str | os.PathLike, fix: str, weights_only: bool = True, map_location: str | None = None) -> Any:
    """torch.load of a file the pipeline wrote, refusing a truncated or foreign one by name.

    The bytes are read first, so a machine error (permissions, I/O) stays an OSError
    (exit 1); anything torch cannot read back is bad input (exit 2) whose message
    names the file and says what to do (`fix`). torch's own errors vary with the
    damage: RuntimeError (no zip directory), EOFError (empty), UnpicklingError
    (not a checkpoint), even OSError(EINVAL) for a cut-off tail.
    """
    import torch

    from pipeline_src.errors import InputError

    data = Path(path).read_bytes()
    try:
        return torch.load(io.BytesIO(data), weights_only=weights_only, map_location=map_location)
    except Exception as e:
        detail = str(e).split(". ")[0][:100] or "no data"  # torch's first sentence says enough
        raise InputError(f"{path}: cannot be read, the file is truncated or not a torch file "
                         f"({e.__class__.__name__}: {detail}); {fix}") from None


def load_npz_file(path: str | os.PathLike, fix: str) -> dict:
    """The arrays of an .npz file the pipeline wrote, {name: array}, refusing a damaged one by name.

    As `load_torch_file`: read errors stay OSErrors (exit 1), anything numpy cannot read
    back is bad input (exit 2). numpy's errors vary with the damage: EOFError (empty),
    zipfile.BadZipFile (a cut-off tail), ValueError (pickled objects), OSError."""
    import numpy as np

    from pipeline_src.errors import InputError

    data = Path(path).read_bytes()
    try:
        with np.load(io.BytesIO(data)) as saved:
            return {k: saved[k] for k in saved.files}
    except Exception as e:
        raise InputError(f"{path}: cannot be read, the file is truncated or not an .npz file "
                         f"({e.__class__.__name__}: {str(e)[:100] or 'no data'}); {fix}") from None


def load_json_file(path: str | os.PathLike, fix: str) -> Any:
    """json.loads of a file the pipeline wrote; a missing or damaged one is bad input naming it."""
    from pipeline_src.errors import InputError

    try:
        return json.loads(Path(path).read_bytes())
    except FileNotFoundError:
        raise InputError(f"{path}: missing; {fix}") from None
    except ValueError as e:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise InputError(f"{path}: not valid JSON ({e.__class__.__name__}: {str(e)[:100]}); {fix}") from None


def file_digest(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def bytes_digest(data: bytes, algorithm: str = "sha256") -> str:
    return hashlib.new(algorithm, data).hexdigest()


@contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary folder beside `path`; on success it replaces `path`.

    The old folder (if any) is moved aside first and deleted after the rename,
    so at every instant `path` is either absent, the old folder or the new one.
    """
    path = Path(path)
    sweep_leftovers(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    os.chmod(tmp, 0o777 & ~_umask())
    try:
        yield tmp
        old = None
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            os.replace(path, old / path.name)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
