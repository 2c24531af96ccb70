"""Progress of long loops: a tqdm bar on a terminal, periodic log lines otherwise
(Slurm and CI logs, Snakemake's `2> {log}`)."""

from __future__ import annotations

import sys
import time


def bar(total: int, start: int = 0, unit: str = "step"):
    """A tqdm bar when stderr is a terminal; None when the caller should log lines."""
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=start, unit=unit, file=sys.stderr, dynamic_ncols=True)


class Progress:
    """Counts done items of `total`; shows a bar, or logs a line every `every_s` seconds and at the end."""

    def __init__(self, total: int, desc: str, unit: str = "img", every_s: float = 10.0):
        self.total, self.desc, self.unit, self.every_s = total, desc, unit, every_s
        self.done = 0
        self.start = self.last = time.monotonic()
        self.bar = bar(total, unit=unit)
        if self.bar is not None:
            self.bar.set_description(desc)

    def update(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
            return
        now = time.monotonic()
        if now - self.last >= self.every_s or self.done >= self.total:
            self.last = now
            rate = self.done / max(now - self.start, 1e-9)
            print(f"{self.desc}: {self.done}/{self.total} {self.unit} ({rate:.1f} {self.unit}/s)",
                  file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
