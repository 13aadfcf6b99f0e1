"""Files that are not graphqd checkpoints (random bytes, a truncated checkpoint, another torch
file) are one-line errors naming the file, through the Python API and the command line."""
import os

import pytest
import torch

from graphqd.errors import GraphqdError
from graphqd.runtime import checkpoint as ckpt

from test_systems import assert_one_line

PRETRAINED = os.path.join(os.path.dirname(__file__), "..", "..", "experiments", "negf_forcefield", "pretrained",
                          "forcefield_graph.pt")


@pytest.fixture
def bad_files(tmp_path):
    files = {"bytes": tmp_path / "bytes.pt", "truncated": tmp_path / "truncated.pt", "tensor": tmp_path / "tensor.pt"}
    files["bytes"].write_bytes(bytes(range(256)) * 2)  # not a zip: the pickle path of torch.load
    with open(PRETRAINED, "rb") as fh:
        files["truncated"].write_bytes(fh.read()[:1000])
    torch.save(torch.zeros(3), files["tensor"])
    return files


def test_load_names_the_file(bad_files):
    for path in bad_files.values():
        with pytest.raises(GraphqdError, match=f"'{path}' is not a readable graphqd checkpoint"):
            ckpt.load(str(path))


def test_cli_gives_one_line(cli, bad_files, tmp_path):
    store = tmp_path / "n.h5"
    recipe = tmp_path / "n.yaml"
    recipe.write_text("system: negf\nlattice: {Lx: 4, Ly: 2}\ndynamics: {t_final: 0.2, record_every: 1}\n")
    assert cli("simulate", "negf", "--config", recipe, "--out", store).returncode == 0
    for path in bad_files.values():
        result = cli("evaluate", "--checkpoint", path, "--data", store, "--out", tmp_path / "m.json")
        assert_one_line(result, f"'{path}' is not a readable graphqd checkpoint")
