"""The TensorFlow checkpoint reader on a checkpoint written by TensorFlow (tests/models/data/keras_gru)."""
import os

import numpy as np
import pytest

from graphqd.errors import GraphqdError
from graphqd.io.tf_checkpoint import read_tf_checkpoint

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "models", "data", "keras_gru")


def test_reads_every_variable_with_its_shape():
    variables = read_tf_checkpoint(os.path.join(FIXTURE, "weights"))
    shapes = {key.split("/.ATTRIBUTES")[0]: value.shape for key, value in variables.items()}
    assert shapes == {"dense1/kernel": (15, 8), "dense1/bias": (8,), "gru/cell/kernel": (8, 24),
                      "gru/cell/recurrent_kernel": (8, 24), "gru/cell/bias": (2, 24),
                      "dense2/kernel": (16, 10), "dense2/bias": (10,)}
    assert all(value.dtype == np.float32 and np.all(np.isfinite(value)) and value.std() > 0.1
               for value in variables.values())


def test_bad_files_raise_one_line(tmp_path):
    (tmp_path / "junk.index").write_bytes(b"not a table" * 10)
    with pytest.raises(GraphqdError, match="not a TensorFlow checkpoint index"):
        read_tf_checkpoint(str(tmp_path / "junk"))
    index = open(os.path.join(FIXTURE, "weights.index"), "rb").read()
    (tmp_path / "orphan.index").write_bytes(index)
    with pytest.raises(GraphqdError, match="data files"):
        read_tf_checkpoint(str(tmp_path / "orphan"))
