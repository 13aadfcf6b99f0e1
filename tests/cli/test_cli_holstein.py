"""The `graphqd` command end to end on tiny data, and its one-line errors."""

import h5py
import pytest
from ase.io import read

from conftest import TINY_HOLSTEIN


def assert_clean_error(result, *phrases):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for phrase in phrases:
        assert phrase in lines[0], lines[0]


def test_simulate_export_read_back(cli, tiny_holstein_recipe, tmp_path):
    store = tmp_path / "data.h5"
    result = cli("simulate", "holstein", "--config", tiny_holstein_recipe, "--out", store,
                 "--set", "quench.g_final=1.5", "--set", "trajectories=3")
    assert result.returncode == 0, result.stderr
    with h5py.File(store) as h:
        assert h.attrs["complete"] and h.attrs["g_final"] == 1.5 and h["Q"].shape[0] == 3
        assert "g_final: 1.5" in h.attrs["config"]
    rerun = cli("simulate", "holstein", "--config", tiny_holstein_recipe, "--out", store,
                "--set", "quench.g_final=1.5", "--set", "trajectories=3")
    assert rerun.returncode == 0  # complete: nothing to do
    out = tmp_path / "run.extxyz"
    result = cli("export", store, "--trajectory", 1, "--out", out)
    assert result.returncode == 0, result.stderr
    frames = read(str(out), ":")
    assert len(frames) == 21 and frames[-1].info["time"] == pytest.approx(1.6)
    assert frames[0].arrays["n"].shape == (6,)


def test_shards_and_merge(cli, tiny_holstein_recipe, tmp_path):
    for i in range(2):
        result = cli("simulate", "holstein", "--config", tiny_holstein_recipe, "--out", tmp_path / f"s{i}.h5",
                     "--shard", f"{i}/2")
        assert result.returncode == 0, result.stderr
    result = cli("merge", tmp_path / "all.h5", tmp_path / "s0.h5", tmp_path / "s1.h5")
    assert result.returncode == 0, result.stderr
    with h5py.File(tmp_path / "all.h5") as h:
        assert h["Q"].shape[0] == TINY_HOLSTEIN["trajectories"] and h.attrs["complete"]


@pytest.mark.parametrize("args,phrases", [
    (["--set", "quench.g_fnal=1"], ["unknown config key 'quench.g_fnal'", "g_final"]),
    (["--set", "model.omega=fast"], ["'model.omega' must be a number > 0", "'fast'"]),
    (["--set", "model.omega=-0.4"], ["'model.omega' must be a number > 0"]),
    (["--set", "trajectories=0"], ["'trajectories' must be an integer >= 1"]),
    (["--set", "lattice.boundary=twisted"], ["'lattice.boundary' must be one of 'periodic', 'open'"]),
    (["--set", "integrator.t_final=1.0"], ["'integrator.t_final'", "whole multiple"]),
    (["--set", "storage.dtype=float16"], ["'storage.dtype' must be one of"]),
    (["--set", "seed"], ["dotted.key=value"]),
    (["--device", "tpu"], ["--device 'tpu'"]),
    (["--shard", "2/2"], ["--shard '2/2'"]),
])
def test_bad_config_gives_one_clear_line(cli, tiny_holstein_recipe, tmp_path, args, phrases):
    out = tmp_path / "x.h5"
    result = cli("simulate", "holstein", "--config", tiny_holstein_recipe, "--out", out, *args)
    assert_clean_error(result, *phrases)
    assert not out.exists()


def test_bad_files_give_one_clear_line(cli, tmp_path, tiny_holstein_recipe):
    assert_clean_error(cli("simulate", "holstein", "--config", tmp_path / "none.yaml", "--out", tmp_path / "x.h5"),
                       "does not exist")
    broken = tmp_path / "broken.yaml"
    broken.write_text("system: holstein\nlattice: {L: 8\n")
    assert_clean_error(cli("simulate", "holstein", "--config", broken, "--out", tmp_path / "x.h5"), "not valid YAML")
    assert_clean_error(cli("simulate", "wave", "--config", tiny_holstein_recipe, "--out", tmp_path / "x.h5"),
                       "'system' is 'holstein'")
    assert_clean_error(cli("export", tmp_path / "none.h5", "--out", tmp_path / "a.extxyz"), "does not exist")
    text = tmp_path / "text.h5"
    text.write_text("not hdf5")
    assert_clean_error(cli("export", text, "--out", tmp_path / "a.extxyz"), "not a readable HDF5 file")
