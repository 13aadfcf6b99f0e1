"""Writes the Keras reference of tests/models/test_wave_window.py::test_gru_matches_keras:
a small window GRU of the published layout (per-frame Dense ReLU, GRU with ReLU candidate and
reset_after, Dense on concat(output, final state)) with random weights, saved by TensorFlow's
`save_weights`, and its output on a fixed batch of windows. Needs TensorFlow (not a graphqd
dependency):  python tests/models/data/keras_gru/make_fixture.py
"""
import os

import numpy as np  # noqa: E402
os.environ["TF_USE_LEGACY_KERAS"] = "1"   # Keras 2, whose save_weights writes a TensorFlow checkpoint
import tensorflow as tf  # noqa: E402

POINTS, FRAMES, CHANNELS, HIDDEN = 5, 4, 3, 8
HERE = os.path.dirname(os.path.abspath(__file__))


class WindowGRU(tf.keras.Model):
    def __init__(self):
        super().__init__()
        self.flatten = tf.keras.layers.Reshape((FRAMES, POINTS * CHANNELS))
        self.dense1 = tf.keras.layers.Dense(HIDDEN, activation="relu")
        self.gru = tf.keras.layers.GRU(HIDDEN, return_state=True, activation="relu")
        self.dense2 = tf.keras.layers.Dense(2 * POINTS)
        self.reshape = tf.keras.layers.Reshape((POINTS, 2))

    def call(self, x):
        output, state = self.gru(self.dense1(self.flatten(x)))
        return self.reshape(self.dense2(tf.concat((output, state), axis=-1)))


tf.random.set_seed(3)
rng = np.random.default_rng(3)
model = WindowGRU()
windows = rng.normal(size=(6, FRAMES, POINTS, CHANNELS)).astype(np.float32)
model(windows)
for variable in model.trainable_variables:          # nonzero biases, so that their layout is tested too
    variable.assign(rng.normal(scale=0.4, size=variable.shape).astype(np.float32))
model.save_weights(os.path.join(HERE, "weights"))
np.savez(os.path.join(HERE, "reference.npz"), windows=windows, output=model(windows).numpy())
print(tf.__version__, [v.name for v in model.trainable_variables])
