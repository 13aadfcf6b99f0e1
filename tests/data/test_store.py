"""HDF5 store: resume without loss or duplication, shards, and clear errors on bad files."""
import subprocess
import sys

import h5py
import numpy as np
import pytest
import torch

from graphqd import config as cfg
from graphqd.data import store as store_module
from graphqd.data.recipes import holstein as recipe
from graphqd.data.store import merge_shards, open_store
from graphqd.errors import StoreError

from conftest import TINY_HOLSTEIN


def tiny_config(**changes):
    config = cfg.validate({**TINY_HOLSTEIN, **changes}, recipe.SCHEMA)
    return config


def read_all(path):
    with open_store(path, "holstein") as h:
        return {name: h[name][()] for name in ("t", "Q", "P", "rho")}, dict(h.attrs)


def test_layout_and_attributes(tmp_path):
    path = tmp_path / "a.h5"
    recipe.generate(tiny_config(), str(path), torch.device("cpu"))
    arrays, attrs = read_all(path)
    assert arrays["Q"].shape == (5, 21, 6) and arrays["Q"].dtype == np.float32
    assert arrays["rho"].shape == (5, 21, 6, 6) and arrays["rho"].dtype == np.complex64
    assert arrays["t"].shape == (21,)
    assert attrs["system"] == "holstein" and attrs["complete"] and attrs["seed"] == 3
    assert cfg.validate(cfg.yaml.safe_load(attrs["config"]), recipe.SCHEMA) == tiny_config()
    assert attrs["g_final"] == 2.0 and attrs["mass"] == pytest.approx(2.5)


def generate_interrupted(path, monkeypatch):
    """`generate` of the tiny config into `path`, interrupted while it writes its second block."""
    original_write = store_module.StoreWriter.write
    calls = []

    def failing_write(self, start, arrays):
        calls.append(start)
        if len(calls) == 2:
            raise KeyboardInterrupt
        original_write(self, start, arrays)

    monkeypatch.setattr(store_module.StoreWriter, "write", failing_write)
    with pytest.raises(KeyboardInterrupt):
        recipe.generate(tiny_config(), str(path), torch.device("cpu"))
    monkeypatch.setattr(store_module.StoreWriter, "write", original_write)


def test_interrupted_simulate_resumes_without_loss_or_duplication(tmp_path, monkeypatch):
    full, resumed = tmp_path / "full.h5", tmp_path / "resumed.h5"
    recipe.generate(tiny_config(), str(full), torch.device("cpu"))
    generate_interrupted(resumed, monkeypatch)
    with pytest.raises(StoreError, match="incomplete \\(2 of 5 runs written\\)"):
        open_store(str(resumed))
    recipe.generate(tiny_config(), str(resumed), torch.device("cpu"))
    a, _ = read_all(full)
    b, attrs = read_all(resumed)
    assert attrs["runs_done"] == 5
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])


def test_resume_refuses_a_different_config(tmp_path):
    path = tmp_path / "a.h5"
    recipe.generate(tiny_config(), str(path), torch.device("cpu"))
    with pytest.raises(StoreError, match="different config"):
        recipe.generate(tiny_config(seed=4), str(path), torch.device("cpu"))


def test_resume_accepts_a_store_made_before_a_key_with_a_default_existed(tmp_path, monkeypatch):
    """A store written before `integrator.band_radius` existed resumes: its config, with the
    new key's default filled in, is the same config."""
    path, full = tmp_path / "a.h5", tmp_path / "full.h5"
    recipe.generate(tiny_config(), str(full), torch.device("cpu"))
    generate_interrupted(path, monkeypatch)
    with h5py.File(path, "r+") as h:  # the config as an older version wrote it
        old = cfg.yaml.safe_load(h.attrs["config"])
        del old["integrator"]["band_radius"]
        h.attrs["config"] = cfg.dump(old)
    recipe.generate(tiny_config(), str(path), torch.device("cpu"))
    for name, array in read_all(full)[0].items():
        np.testing.assert_array_equal(array, read_all(path)[0][name])
    with h5py.File(path, "r+") as h:  # a key that is not at its default is a different config
        old["integrator"]["band_radius"] = 2
        h.attrs["config"] = cfg.dump(old)
    with pytest.raises(StoreError, match="different config"):
        recipe.generate(tiny_config(), str(path), torch.device("cpu"))


def test_shards_merge_to_the_full_dataset(tmp_path):
    full = tmp_path / "full.h5"
    recipe.generate(tiny_config(), str(full), torch.device("cpu"))
    shards = [str(tmp_path / f"s{i}.h5") for i in range(3)]
    for i, path in enumerate(shards):
        recipe.generate(tiny_config(), path, torch.device("cpu"), shard=f"{i}/3")
    merged = tmp_path / "merged.h5"
    assert merge_shards(reversed(shards), str(merged)) == 5
    a, _ = read_all(full)
    b, attrs = read_all(merged)
    assert attrs["complete"] and attrs["shard"] == ""
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])
    with pytest.raises(StoreError, match="contiguously"):
        merge_shards(shards[:1] + shards[2:], str(tmp_path / "gap.h5"))


def test_foreign_truncated_and_wrong_system_files(tmp_path):
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as h:
        h["x"] = np.zeros(3)
    with pytest.raises(StoreError, match="not a graphqd trajectory store"):
        open_store(str(foreign))
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 40)
    with pytest.raises(StoreError, match="truncated or foreign"):
        open_store(str(garbage))
    with pytest.raises(StoreError, match="does not exist"):
        open_store(str(tmp_path / "none.h5"))
    path = tmp_path / "a.h5"
    recipe.generate(tiny_config(), str(path), torch.device("cpu"))
    with pytest.raises(StoreError, match="holds 'holstein' data"):
        open_store(str(path), "wave")
    with pytest.raises(StoreError, match="shard"):
        store_module.shard_range(10, "3/3")


def test_a_store_open_in_another_process_is_reported_as_such(tmp_path):
    """A writer locked out by a reader (or the reverse) must not be told the store is damaged and to delete it;
    rerunning the command that made a complete store works while others read it."""
    path = tmp_path / "a.h5"
    recipe.generate(tiny_config(), str(path), torch.device("cpu"))
    reader = subprocess.Popen([sys.executable, "-c", "import sys, h5py; f = h5py.File(sys.argv[1], 'r'); "
                               "print('open', flush=True); sys.stdin.read()", str(path)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "open"
        with pytest.raises(StoreError, match="open in another process"):
            store_module._open(str(path), "a")
        recipe.generate(tiny_config(), str(path), torch.device("cpu"))  # complete: rerunning writes nothing
    finally:
        reader.communicate("")
    with store_module._open(str(path), "a"):  # the lock goes with the reader
        pass


def test_damaged_store_names_the_file_of_the_failing_read(tmp_path):
    path = str(tmp_path / "s.h5")
    with h5py.File(path, "w") as handle:
        handle["x"] = np.zeros(3)
    handle = h5py.File(path, "r")  # an open handle, as a dataset keeps one: found in the failing frame
    try:
        handle["missing"]
    except KeyError as error:
        message = str(store_module.damaged_store(error))
    handle.close()
    assert repr(path) in message and "damaged" in message
    with pytest.raises(KeyError) as caught:
        with open_store(_tiny(tmp_path)) as store:
            store["missing"]
    assert caught.value.store_path.endswith("tiny.h5")  # tagged on leaving the with block
    assert store_module.damaged_store(ValueError("not from HDF5")) is None


def _tiny(tmp_path):
    path = str(tmp_path / "tiny.h5")
    recipe.generate(cfg.validate(TINY_HOLSTEIN, recipe.SCHEMA), path, torch.device("cpu"))
    return path
