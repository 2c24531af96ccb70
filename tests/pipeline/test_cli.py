"""`python -m pipeline_src` ends its process without the interpreter's module teardown (a second
of every job once torch is loaded); what a normal exit does that users see still happens: the
exit code, everything printed, and the atexit callbacks of tools wrapped around a job."""

from __future__ import annotations

import subprocess
import sys

import yaml

from tests.conftest import REPO, env_with_venv, tiny_params

PROBE = "import atexit, os\natexit.register(lambda: open(os.environ['PROBE_OUT'], 'w').write('atexit ran'))\n"


def cli_run(tmp_path, *args):
    (tmp_path / "probe").mkdir(exist_ok=True)
    (tmp_path / "probe" / "sitecustomize.py").write_text(PROBE)
    out = tmp_path / "atexit.txt"
    out.unlink(missing_ok=True)
    env = {**env_with_venv(), "PYTHONPATH": f"{tmp_path / 'probe'}:{REPO}", "PROBE_OUT": str(out)}
    proc = subprocess.run([sys.executable, "-m", "pipeline_src", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    return proc, out.read_text() if out.exists() else None


def test_a_job_exits_with_its_code_its_output_and_its_atexit_callbacks(tmp_path):
    params = tiny_params()
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    proc, probe = cli_run(tmp_path, "validate")
    assert proc.returncode == 0 and proc.stdout.startswith("params.yaml: valid"), proc.stderr
    assert probe == "atexit ran"

    params["train"]["lr_g"] = -1.0
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    proc, probe = cli_run(tmp_path, "train", "--variant", "ns_toy_ring8", "--seed", "0")
    assert proc.returncode == 2 and "train.lr_g" in proc.stderr, proc.stderr
    assert probe == "atexit ran"
    assert not (tmp_path / "results").exists()


def test_the_fast_exit_is_only_for_a_job_started_directly():
    from pipeline_src.__main__ import launched_directly

    py = "/venv/bin/python"
    assert launched_directly([py, "-m", "pipeline_src", "train"])
    assert launched_directly([py, "-u", "-X", "importtime", "-W", "ignore", "-m", "pipeline_src", "report"])
    assert not launched_directly([py, "-m", "cProfile", "-m", "pipeline_src", "report"])
    assert not launched_directly([py, "/venv/bin/coverage", "run", "-m", "pipeline_src", "report"])
    assert not launched_directly([py, "-c", "import runpy; runpy.run_module('pipeline_src')"])


def test_a_profiler_wrapped_around_a_job_still_writes_its_profile(tmp_path):
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(tiny_params()))
    proc = subprocess.run([sys.executable, "-m", "cProfile", "-o", "job.prof", "-m", "pipeline_src", "validate"],
                          cwd=tmp_path, env={**env_with_venv(), "PYTHONPATH": str(REPO)}, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    import pstats

    assert pstats.Stats(str(tmp_path / "job.prof")).total_calls > 0
