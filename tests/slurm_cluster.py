"""A real single-node Slurm cluster on localhost for the cluster-submission tests.

Debian's slurm-wlm runs without systemd: munged as user munge, then slurmctld
and slurmd in the foreground (-D) in the background. Accounting is off, so the
Snakemake plugin reads job states from squeue (finished jobs stay visible for
MinJobAge seconds). One fake GPU (gres File=/dev/null) lets GPU rules schedule.
Everything lives under one folder and every process started is stopped by PID.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

SLURM_BINARIES = ("slurmctld", "slurmd", "sbatch", "squeue", "munged")
# Jobs find the config at Slurm's default path only: the Snakemake jobstep plugin
# strips SLURM_* variables (SLURM_CONF included) before its nested srun.
CONF_DIR = Path("/etc/slurm")
MARKER = "# written by pipeline_src tests (tests/slurm_cluster.py); removed when they stop\n"


def foreign_config() -> Path | None:
    """A slurm.conf that is not ours: the tests must not overwrite a real cluster's config."""
    conf = CONF_DIR / "slurm.conf"
    if conf.exists() and not conf.read_text().startswith(MARKER):
        return conf
    return None


def missing_binaries() -> list[str]:
    return [b for b in SLURM_BINARIES if shutil.which(b) is None and not Path(f"/usr/sbin/{b}").exists()]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class SlurmCluster:
    root: Path
    cpus: int = 2
    memory_mb: int = 4000
    processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def conf(self) -> Path:
        return CONF_DIR / "slurm.conf"

    @property
    def env(self) -> dict:
        env = dict(os.environ)
        env["SLURM_CONF"] = str(self.conf)
        return env

    def write_config(self) -> None:
        node = socket.gethostname().split(".")[0]
        for sub in ("state", "spool", "log"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        ctl_port, d_port = _free_port(), _free_port()
        if foreign_config():
            raise RuntimeError(f"{self.conf} exists and is not ours; not overwriting it")
        CONF_DIR.mkdir(parents=True, exist_ok=True)
        self.conf.write_text(MARKER + f"""\
ClusterName=pipelinetest
SlurmctldHost={node}(127.0.0.1)
SlurmctldPort={ctl_port}
SlurmdPort={d_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation={self.root}/state
SlurmdSpoolDir={self.root}/spool
SlurmctldPidFile={self.root}/slurmctld.pid
SlurmdPidFile={self.root}/slurmd.pid
SlurmctldLogFile={self.root}/log/slurmctld.log
SlurmdLogFile={self.root}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
DefMemPerCPU=500
MinJobAge=600
ReturnToService=2
SchedulerType=sched/backfill
MpiDefault=none
GresTypes=gpu
NodeName={node} NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={self.memory_mb} Gres=gpu:1 State=UNKNOWN
PartitionName=debug Nodes={node} Default=YES MaxTime=INFINITE State=UP
""")
        (CONF_DIR / "gres.conf").write_text(MARKER + f"NodeName={node} Name=gpu File=/dev/null\n")

    def _start(self, cmd: list[str], user: str | None = None) -> subprocess.Popen:
        if user is not None:
            cmd = ["runuser", "-u", user, "--", *cmd]
        log = open(self.root / "log" / f"{Path(cmd[-1] if user else cmd[0]).name}.out", "ab")
        proc = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append(proc)
        return proc

    def start(self, timeout_s: float = 60) -> None:
        self.write_config()
        munge_socket = Path("/run/munge/munge.socket.2")
        if not munge_socket.exists():
            Path("/run/munge").mkdir(parents=True, exist_ok=True)
            shutil.chown("/run/munge", "munge", "munge")
            self._start(["/usr/sbin/munged", "--foreground"], user="munge")
            self._wait(lambda: munge_socket.exists(), timeout_s, "munged did not create its socket")
        self._start(["slurmctld", "-D", "-i"])
        self._start(["slurmd", "-D"])
        self._wait(self._node_idle, timeout_s, "the node did not become idle")

    def _node_idle(self) -> bool:
        out = subprocess.run(["sinfo", "-h", "-o", "%t"], env=self.env, capture_output=True, text=True)
        return out.returncode == 0 and out.stdout.strip().startswith("idle")

    def _wait(self, ready, timeout_s: float, message: str) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if ready():
                return
            for p in self.processes:
                if p.poll() is not None:
                    raise RuntimeError(f"{message}: {p.args} exited {p.returncode}; logs in {self.root}/log")
            time.sleep(0.3)
        raise RuntimeError(f"{message} within {timeout_s} s; logs in {self.root}/log")

    def stop(self) -> None:
        for proc in reversed(self.processes):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in reversed(self.processes):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.processes.clear()
        for name in ("slurm.conf", "gres.conf"):
            path = CONF_DIR / name
            if path.exists() and path.read_text().startswith(MARKER):
                path.unlink()
