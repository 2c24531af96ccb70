"""Fetch raw files from a list of mirrors, verify their checksums, retry with backoff.

A mirror is a local folder or an http(s) base URL. For each file the mirrors
are tried in order; an HTTP mirror is retried (connection errors, transfers cut
short, 5xx, checksum mismatches) with exponential backoff before moving on; a
404 moves on at once. Files are streamed to a temporary name and renamed only
once their checksum holds, so nothing that looks complete is ever half-written.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import shutil
import socket
import tarfile
import time
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from pipeline_src.datasets import RawFile
from pipeline_src.errors import InputError
from pipeline_src.io import CHUNK, atomic_path, file_digest
from pipeline_src.progress import copy_stream

USER_AGENT = "pipeline_src-download/1"


class DownloadError(InputError):
    """No mirror delivered a file with the right checksum."""


class _Retryable(Exception):
    """A failure worth another attempt at the same URL."""


class _Permanent(Exception):
    """A failure that another attempt at the same URL will not fix (404, 403...)."""


@dataclass(frozen=True)
class FetchOptions:
    retries: int = 4  # attempts per URL
    backoff_s: float = 1.0  # sleep before attempt k+1: backoff_s * 2**(k-1)
    timeout_s: float = 60.0  # socket timeout per request


def is_url(mirror: str) -> bool:
    return mirror.startswith(("http://", "https://"))


def _content_md5s(path: Path, raw: RawFile) -> dict[str, str]:
    """md5 of the members named in raw.content_md5 ("" = the .gz stream)."""
    found: dict[str, str] = {}
    if "" in raw.content_md5:
        h = hashlib.md5()
        with gzip.open(path, "rb") as f:
            while chunk := f.read(CHUNK):
                h.update(chunk)
        found[""] = h.hexdigest()
    else:
        with tarfile.open(path, "r:*") as tar:
            for member in tar.getmembers():
                if member.name in raw.content_md5 and member.isfile():
                    h = hashlib.md5()
                    f = tar.extractfile(member)
                    while chunk := f.read(CHUNK):
                        h.update(chunk)
                    found[member.name] = h.hexdigest()
    return found


def verify(path: Path, raw: RawFile) -> str | None:
    """None if `path` holds `raw` (by its md5, or by the md5s of its content);
    otherwise a sentence saying which checksum failed."""
    md5 = file_digest(path, "md5")
    if md5 == raw.md5:
        return None
    if raw.content_md5:
        try:
            found = _content_md5s(path, raw)
        except (OSError, EOFError, tarfile.TarError, gzip.BadGzipFile, ValueError, zlib.error):
            found = {}
        if found == raw.content_md5:
            return None
    return f"md5 {md5}, expected {raw.md5}"


def _http_get(url: str, dest: Path, timeout_s: float) -> None:
    """Stream `url` into `dest`; raise _Retryable or _Permanent on failure."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            expected = response.headers.get("Content-Length")
            with open(dest, "wb") as out:
                received = copy_stream(response, out, None if expected is None else int(expected),
                                       f"download {url.rsplit('/', 1)[-1]}", CHUNK)
            if expected is not None and received != int(expected):
                raise _Retryable(f"transfer cut short: {received} of {expected} bytes")
    except urllib.error.HTTPError as e:
        if e.code in (408, 425, 429) or e.code >= 500:
            raise _Retryable(f"HTTP {e.code} {e.reason}") from None
        raise _Permanent(f"HTTP {e.code} {e.reason}") from None
    except http.client.IncompleteRead as e:
        raise _Retryable(f"transfer cut short: {len(e.partial)} bytes then the connection closed") from None
    except (urllib.error.URLError, ConnectionError, socket.timeout, http.client.HTTPException, OSError) as e:
        reason = getattr(e, "reason", None) or e
        raise _Retryable(f"connection failed: {reason}") from None


def _from_url(base: str, raw: RawFile, dest: Path, opts: FetchOptions, log: Callable[[str], None]) -> str | None:
    """Try one base URL up to opts.retries times; None on success, else the last failure."""
    url = base.rstrip("/") + "/" + raw.name
    failure = None
    for attempt in range(1, opts.retries + 1):
        if attempt > 1:
            delay = opts.backoff_s * 2 ** (attempt - 2)
            log(f"  retry {attempt}/{opts.retries} of {url} in {delay:g} s")
            time.sleep(delay)
        try:
            with atomic_path(dest) as tmp:
                _http_get(url, tmp, opts.timeout_s)
                bad = verify(tmp, raw)
                if bad:
                    raise _Retryable(f"checksum mismatch: {bad}")
            return None
        except _Retryable as e:
            failure = f"{url}: {e}"
            log(f"  {failure}")
        except _Permanent as e:
            failure = f"{url}: {e}"
            log(f"  {failure}")
            return failure
    return f"{failure} (after {opts.retries} attempts)"


def _from_folder(folder: str, raw: RawFile, dest: Path, log: Callable[[str], None]) -> str | None:
    source = Path(folder) / raw.name
    if not source.is_file():
        failure = f"{source}: no such file"
        log(f"  {failure}")
        return failure
    bad = verify(source, raw)
    if bad:
        failure = f"{source}: checksum mismatch: {bad}"
        log(f"  {failure}")
        return failure
    with atomic_path(dest) as tmp:
        shutil.copyfile(source, tmp)
    return None


def fetch(raw: RawFile, mirrors: list[str], dest_dir: Path, opts: FetchOptions,
          log: Callable[[str], None] = print) -> str:
    """Deliver `raw` into dest_dir from the first mirror that has it; return that mirror."""
    dest = Path(dest_dir) / raw.name
    failures = []
    for mirror in mirrors:
        log(f"{raw.name}: trying {mirror}")
        if is_url(mirror):
            failure = _from_url(mirror, raw, dest, opts, log)
        else:
            failure = _from_folder(mirror, raw, dest, log)
        if failure is None:
            log(f"{raw.name}: ok from {mirror} (md5 verified)")
            return mirror
        failures.append(failure)
    raise DownloadError(
        f"{raw.name}: no mirror delivered the file with md5 {raw.md5}; tried:\n  "
        + "\n  ".join(failures or ["(no mirrors listed)"])
    )


def expand_mirrors(mirrors: list[str], torchvision_urls: list[str]) -> list[str]:
    """Replace the word `torchvision` by the URLs torchvision's dataset class uses."""
    out: list[str] = []
    for m in mirrors:
        out.extend(torchvision_urls if m == "torchvision" else [m])
    return out
