"""experiments/cluster: the SLURM shard loop run locally (run_local.sh) gives the store of an unsharded
run; the sbatch scripts parse."""
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest
import yaml

from conftest import TINY_HOLSTEIN

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.join(ROOT, "experiments", "cluster")


@pytest.mark.parametrize("script", sorted(f for f in os.listdir(HERE) if f.endswith((".sh", ".sbatch"))))
def test_scripts_parse(script):
    assert subprocess.run(["bash", "-n", os.path.join(HERE, script)]).returncode == 0


def test_local_shard_loop_equals_one_run(tmp_path, cli):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump(TINY_HOLSTEIN))
    env = dict(os.environ, GQD=f"{sys.executable} -m graphqd")
    result = subprocess.run(["bash", os.path.join(HERE, "run_local.sh"), "3", "holstein", recipe, tmp_path / "ds"],
                            env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert cli("simulate", "holstein", "--config", recipe, "--out", tmp_path / "one.h5").returncode == 0
    with h5py.File(tmp_path / "ds.h5") as merged, h5py.File(tmp_path / "one.h5") as one:
        assert merged.attrs["complete"] and sorted(merged) == sorted(one)
        for name in one:
            assert np.array_equal(merged[name][()], one[name][()]), name
