"""Shared fixtures: a tiny Holstein recipe and a runner for the `graphqd` command."""
import subprocess
import sys

import pytest
import yaml

TINY_HOLSTEIN = {
    "system": "holstein", "seed": 3, "trajectories": 5,
    "lattice": {"L": 6, "boundary": "periodic"},
    "model": {"hopping": 1.0, "omega": 0.4, "stiffness": 0.4},
    "quench": {"g_initial": 0.0, "g_final": 2.0, "q_noise": 1.0e-3},
    "integrator": {"dt": 0.08, "substeps": 4, "t_final": 1.6},
    "storage": {"dtype": "float32", "batch": 2},
}


@pytest.fixture
def tiny_holstein_recipe(tmp_path):
    path = tmp_path / "tiny_holstein.yaml"
    path.write_text(yaml.safe_dump(TINY_HOLSTEIN))
    return path


def run_cli(*args, cwd=None):
    """Run `python -m graphqd ARGS` and return the CompletedProcess (text mode)."""
    return subprocess.run([sys.executable, "-m", "graphqd", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


@pytest.fixture
def cli():
    return run_cli
