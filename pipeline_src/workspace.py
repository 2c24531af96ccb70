"""One driver at a time in a workspace: Snakemake takes DVC's own repository lock.

`dvc repro` refuses a second `dvc repro` (its stage outputs are locked in
.dvc/tmp/rwlock) and Snakemake a second Snakemake (.snakemake/locks), but neither
knows the other: a Snakemake run started beside a `dvc repro` would delete and
rewrite the outputs DVC is producing, and the reverse. So the Snakefile's
`onstart` (the main process only: not a dry run, not a cluster job) calls
`claim_for_snakemake`, which

- takes .dvc/tmp/lock, the lock every DVC command takes (zc.lockfile, as DVC
  does), and keeps it until Snakemake exits: `dvc repro` then stops at once with
  DVC's "Unable to acquire lock" before touching a file;
- refuses when DVC holds that lock, or when .dvc/tmp/rwlock lists a live DVC
  process: `dvc repro` lets go of the repository lock while a stage command runs,
  and keeps that stage's outputs in the rwlock instead.

Nothing here is imported by a stage: it guards the drivers, not the jobs.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

DVC_TMP = Path(".dvc/tmp")
RETRY_S = 3.0  # how long to wait for DVC's short-lived guard of its rwlock file (DVC waits as long)

_held = []  # the lock objects of this process: released by the kernel when it exits


class WorkspaceBusy(Exception):
    """Another driver runs in this workspace; the message names it and its lock file."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip() or "?"
    except OSError:
        return "?"


def _lock(path: Path, content: str):
    import zc.lockfile

    return zc.lockfile.LockFile(str(path), content_template=content)


def live_dvc_stages(root: Path = Path(".")) -> dict[int, str]:
    """{pid: command} of the live processes .dvc/tmp/rwlock says are reading or writing outputs."""
    import zc.lockfile

    tmp = root / DVC_TMP
    path = tmp / "rwlock"
    if not path.is_file():
        return {}
    deadline = time.monotonic() + RETRY_S
    while True:
        try:
            guard = _lock(tmp / "rwlock.lock", "{pid}")  # DVC edits the file under this lock
            break
        except zc.lockfile.LockError:
            if time.monotonic() > deadline:
                raise WorkspaceBusy(f"{tmp / 'rwlock.lock'}: held by another process for more than {RETRY_S:g} s; "
                                    "is a DVC command running in this workspace?") from None
            time.sleep(0.1)
    try:
        info = json.loads(path.read_text() or "{}")
    except ValueError:
        info = {}
    finally:
        guard.close()
    entries = list(info.get("write", {}).values()) + [e for es in info.get("read", {}).values() for e in es]
    return {e["pid"]: e.get("cmd", "?") for e in entries if isinstance(e, dict) and _alive(e.get("pid", -1))}


def claim_for_snakemake(root: Path = Path(".")) -> None:
    """Hold DVC's repository lock for the rest of this process, or raise WorkspaceBusy naming who has it."""
    import zc.lockfile

    tmp = root / DVC_TMP
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / "lock"
    try:
        lock = _lock(path, "{pid} snakemake")
    except zc.lockfile.LockError:
        pid = path.read_text().split()[0] if path.is_file() and path.read_text().split() else "?"
        who = _command(int(pid)) if pid.isdigit() else "?"
        raise WorkspaceBusy(f"{path}: the workspace is in use by another driver (PID {pid}: {who}); "
                            "run snakemake when it has finished") from None
    running = live_dvc_stages(root)
    if running:
        lock.close()
        who = "; ".join(f"PID {pid}: {cmd}" for pid, cmd in sorted(running.items()))
        raise WorkspaceBusy(f"{tmp / 'rwlock'}: the workspace is in use by DVC ({who}); "
                            "run snakemake when it has finished")
    _held.append(lock)
