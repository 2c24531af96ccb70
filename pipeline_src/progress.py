"""Progress of long loops: a tqdm bar on a terminal, periodic log lines otherwise
(Slurm and CI logs, Snakemake's `2> {log}`)."""

from __future__ import annotations

import sys
import time


def bar(total: int | None, start: int = 0, unit: str = "step", scale: float = 1):
    """A tqdm bar when stderr is a terminal; None when the caller should log lines."""
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=start, unit=unit, unit_scale=scale if scale != 1 else False, file=sys.stderr,
                dynamic_ncols=True)


def copy_stream(source, out, total_bytes: int | None, desc: str, chunk: int = 1 << 20) -> int:
    """Copy a binary stream into `out` in chunks, showing the MB done (a bar on a terminal, a line
    every 10 s in a log); returns the bytes copied."""
    copied = 0
    with Progress(total_bytes, desc, unit="MB", scale=1e-6) as progress:
        while block := source.read(chunk):
            out.write(block)
            copied += len(block)
            progress.update(len(block))
    return copied


class Progress:
    """Counts done items of `total` (None: unknown); shows a bar, or logs a line every `every_s` seconds
    and at the end. Counts are shown times `scale`, in `unit` (bytes as MB: scale 1e-6)."""

    def __init__(self, total: int | None, desc: str, unit: str = "img", every_s: float = 10.0, scale: float = 1):
        self.total, self.desc, self.unit, self.every_s, self.scale = total, desc, unit, every_s, scale
        self.done = 0
        self.start = self.last = time.monotonic()
        self.bar = bar(total, unit=unit, scale=scale)
        if self.bar is not None:
            self.bar.set_description(desc)

    def update(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
            return
        now = time.monotonic()
        if now - self.last >= self.every_s or (self.total is not None and self.done >= self.total):
            self.last = now
            rate = self.done * self.scale / max(now - self.start, 1e-9)
            of = "" if self.total is None else f"/{self._shown(self.total)}"
            print(f"{self.desc}: {self._shown(self.done)}{of} {self.unit} ({rate:.1f} {self.unit}/s)",
                  file=sys.stderr, flush=True)

    def _shown(self, n: int) -> str:
        return str(n) if self.scale == 1 else f"{n * self.scale:.2f}"

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.total is None and self.done:  # nothing said when it ended: say it now
            self.total = self.done
            self.update(0)

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
