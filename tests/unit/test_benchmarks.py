"""The benchmark entry point runs and writes its JSON (a quick run: the figures are not checked)."""

import json

from benchmarks.__main__ import main


def test_quick_frechet_benchmark_writes_a_result_with_machine_and_agreement(tmp_path, capsys):
    assert main(["frechet", "--quick", "--out", str(tmp_path)]) == 0
    [path] = tmp_path.glob("frechet-cpu-*.json")
    result = json.loads(path.read_text())
    assert {"date", "device_name", "torch", "scipy"} <= set(result["machine"])
    assert result["config"]["dim"] == 256 and result["relative_difference"] < 1e-6
    assert result["ours"]["median_s"] > 0 and result["speedup_vs_sqrtm"] > 0
    assert str(path) in capsys.readouterr().out
