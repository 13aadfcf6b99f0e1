"""`experiments/gpu/run.sh --device cpu --quick`: the one-command GPU check in its CPU smoke form, so
it cannot rot. Every `graphqd bench` runs in its --quick form and writes its JSON (device, threads),
and each system's main model trains for two steps at paper width with AMP."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCHES = ("holstein", "wave", "negf", "surrogate", "wave-emulator")


def test_gpu_script_in_its_cpu_smoke_form(tmp_path):
    env = dict(os.environ, GQD=f"{sys.executable} -m graphqd --threads 1", PY=sys.executable)
    result = subprocess.run(["bash", "experiments/gpu/run.sh", "--device", "cpu", "--quick", "--out-dir", tmp_path],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    for name in BENCHES:
        payload = json.loads((tmp_path / f"bench_{name}_cpu.json").read_text())
        assert payload["bench"] == name and payload["threads"] == 1 and payload["quick"]
        assert (tmp_path / f"bench_{name}_cpu.txt").read_text().strip().endswith(f"bench_{name}_cpu.json")
    holstein = json.loads((tmp_path / "bench_holstein_cpu.json").read_text())
    assert holstein["throughput"][0]["seconds_per_trajectory"] > 0 and holstein["max_abs_dQ_to_t20"] < 1e-6
    surrogate = json.loads((tmp_path / "bench_surrogate_cpu.json").read_text())
    assert surrogate["model_dt"] == 0.08 and surrogate["exact_substeps"] == 8  # exact over the model's Δt
    trained = json.loads((tmp_path / "train_cpu.json").read_text())
    assert trained["device"] == "cpu"
    assert [r["model"] for r in trained["runs"]] == ["parc_graph", "wave_kernel", "forcefield_mlp"]
    assert all(r["steps"] == 2 and r["amp"] and r["wall_s"] > 0 for r in trained["runs"])
