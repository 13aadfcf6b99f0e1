"""Every `graphqd bench` runs in its --quick form and writes its JSON with the thread count."""
import json

import pytest


EXTRA = {"negf": ["--sizes", "6x4", "8x6"], "wave-emulator": ["--models", "wave_kernel,wave_linear", "--frames", "3"]}


@pytest.mark.parametrize("name", ["wave", "negf", "surrogate", "wave-emulator"])
def test_quick_bench_writes_json(cli, tmp_path, name):
    out = tmp_path / f"{name}.json"
    extra = EXTRA.get(name, [])
    result = cli("--threads", "1", "bench", name, "--quick", "--out", out, *extra)
    assert result.returncode == 0, result.stderr
    payload = json.loads(out.read_text())
    assert payload["bench"] == name and payload["threads"] == 1 and payload["quick"]
    assert "wrote" in result.stdout
