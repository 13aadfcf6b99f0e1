"""Property-based bad input through the command line (in process): generated invalid recipes of
every system and invalid training configs, and corrupted stores and checkpoints. Whatever the
input, `graphqd` returns 0 or prints one line naming the key or file and returns 2; it never
raises, and a refused command writes nothing."""
import contextlib
import copy
import io
import os
import tempfile

import h5py
import pytest
import torch
import yaml
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from conftest import TINY_HOLSTEIN
from graphqd import config as cfg
from graphqd.cli import main
from graphqd.config import REQUIRED, Field
from graphqd.data.recipes import holstein, negf, wave
from graphqd.errors import ConfigError
from graphqd.models.registry import model_schema
from graphqd.train.config import SECTIONS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RECIPES = {"holstein": (holstein.SCHEMA, TINY_HOLSTEIN),
           "wave": (wave.SCHEMA, yaml.safe_load(open(os.path.join(ROOT, "datasets", "wave_demo.yaml")))),
           "negf": (negf.SCHEMA, yaml.safe_load(open(os.path.join(ROOT, "datasets", "negf_demo.yaml"))))}
TRAINING = {"model": {"name": "local_increment", "width": 8, "depth": 2, "band_radius": 2},
            "data": {"path": "data.h5", "step": 1, "batch_size": 4},
            "train": {"steps": 4}, "log": {"run_dir": "run"}}
VALUES = st.one_of(st.text(max_size=6), st.integers(-10 ** 9, 10 ** 9), st.floats(), st.booleans(), st.none(),
                   st.lists(st.one_of(st.integers(-5, 5), st.text(max_size=3)), max_size=3),
                   st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def leaves(schema: dict, prefix: str = "") -> list[tuple[str, Field]]:
    out = []
    for name, spec in schema.items():
        if isinstance(spec, dict):
            out += leaves(spec, f"{prefix}{name}.")
        else:
            out.append((prefix + name, spec))
    return out


def rejects(field: Field, value) -> bool:
    try:
        field.check("k", value)
    except ConfigError:
        return True
    return False


def assign(config: dict, dotted: str, value) -> None:
    *sections, name = dotted.split(".")
    for section in sections:
        config = config.setdefault(section, {})
        if not isinstance(config, dict):
            return
    config[name] = value


@st.composite
def bad_config(draw, schema: dict, base: dict):
    """(config, the phrase its error must contain): one invalid change to a valid config."""
    config = copy.deepcopy(base)
    kind = draw(st.sampled_from(["value", "value", "unknown", "section", "missing"]))
    fields = leaves(schema)
    if kind == "value":
        key, field = draw(st.sampled_from(fields))
        value = draw(VALUES)
        assume(rejects(field, value))
        assign(config, key, value)
        return config, f"'{key}'"
    if kind == "unknown":
        sections = [""] + [f"{name}." for name, spec in schema.items() if isinstance(spec, dict)]
        prefix = draw(st.sampled_from(sections))
        name = draw(st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8))
        assume(name not in [k.split(".")[-1] for k, _ in fields if k.startswith(prefix)] and
               (prefix or name not in schema))
        assign(config, prefix + name, draw(VALUES))
        return config, f"'{prefix}{name}'"
    if kind == "section":
        name = draw(st.sampled_from([n for n, spec in schema.items() if isinstance(spec, dict)]))
        config[name] = draw(st.one_of(st.integers(), st.text(max_size=4), st.lists(st.integers(), max_size=2)))
        return config, f"'{name}'"
    # a recipe may leave out `system`: `graphqd simulate SYSTEM` names it
    required = [key for key, field in fields if field.default is REQUIRED and key != "system"]
    assume(required)
    *sections, name = draw(st.sampled_from(required)).split(".")
    target = config
    for section in sections:
        target = target.get(section, {})
    assume(name in target)
    del target[name]
    return config, f"'{'.'.join([*sections, name])}'"


def run(args, capsys) -> tuple[int, str]:
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


def assert_one_line(code: int, err: str, *phrases: str) -> None:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1, err
    assert any(p in lines[0] for p in phrases), (phrases, lines[0])


@pytest.mark.parametrize("system", sorted(RECIPES))
def test_generated_bad_recipes(system, capsys):
    schema, base = RECIPES[system]

    @FAST
    @given(bad_config(schema, base))
    def check(case):
        config, phrase = case
        with tempfile.TemporaryDirectory() as folder:
            path, out = os.path.join(folder, "recipe.yaml"), os.path.join(folder, "out.h5")
            with open(path, "w") as fh:
                yaml.safe_dump(config, fh)
            assert_one_line(*run(["simulate", system, "--config", path, "--out", out], capsys), phrase)
            assert not os.path.exists(out)
    check()


def test_generated_bad_training_configs(capsys):
    schema = {"model": model_schema(TRAINING["model"]), **SECTIONS}

    @FAST
    @given(bad_config(schema, TRAINING))
    def check(case):
        config, phrase = case
        with tempfile.TemporaryDirectory() as folder:
            config = copy.deepcopy(config)
            if isinstance(config.get("log"), dict) and config["log"].get("run_dir") == "run":
                config["log"]["run_dir"] = os.path.join(folder, "run")
            path = os.path.join(folder, "train.yaml")
            with open(path, "w") as fh:
                yaml.safe_dump(config, fh)
            assert_one_line(*run(["train", "--config", path], capsys), phrase)
            assert not os.path.exists(os.path.join(folder, "run"))
    check()


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_any_yaml_text_is_refused_in_one_line(text):
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "recipe.yaml")
        with open(path, "w") as fh:
            fh.write(text)
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code = main(["simulate", "holstein", "--config", path, "--out", os.path.join(folder, "o.h5")])
        assert_one_line(code, err.getvalue(), "recipe.yaml", "config")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A tiny Holstein store, a checkpoint trained on it for two steps, and a wave store."""
    from graphqd.train import train
    root = tmp_path_factory.mktemp("corrupt")
    store = str(root / "tiny.h5")
    holstein.generate(cfg.validate(TINY_HOLSTEIN, holstein.SCHEMA), store, torch.device("cpu"))
    config = copy.deepcopy(TRAINING)
    config["data"].update(path=store, split=[0.6, 0.2, 0.2])
    config["train"].update(steps=2, threads=1)
    config["log"].update(run_dir=str(root / "run"), checkpoint_every=2, val_every=2, figures=False, progress=False)
    result = train(config)
    wave_store = str(root / "wave.h5")
    wave_recipe = dict(RECIPES["wave"][1], runs={"set": "curriculum", "start": 0, "step": 1, "count": 1},
                       integrator={"dt": 0.1, "t_final": 0.4, "laplacian": "fd3", "propagator": "exact"})
    wave.generate(cfg.validate(wave_recipe, wave.SCHEMA), wave_store, torch.device("cpu"))
    return {"store": store, "checkpoint": result.checkpoint, "wave": wave_store}


def corrupted_copy(source: str, folder: str, name: str, corruption) -> str:
    """A copy of `source` in `folder`, cut at an offset and/or with bits flipped."""
    cut, flips = corruption
    assume(cut is not None or flips)
    with open(source, "rb") as fh:
        data = bytearray(fh.read())
    data = data[:cut] if cut is not None else data
    for position, bit in flips:
        if data:
            data[position % len(data)] ^= 1 << bit
    path = os.path.join(folder, name)
    with open(path, "wb") as fh:
        fh.write(bytes(data))
    return path


CORRUPTION = st.tuples(st.one_of(st.none(), st.integers(0, 10 ** 6)),
                       st.lists(st.tuples(st.integers(0, 10 ** 6), st.integers(0, 7)), max_size=4))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(corruption=CORRUPTION, verb=st.sampled_from(["export", "rollout", "evaluate", "merge"]))
@example(corruption=(None, [(10832, 0)]), verb="evaluate")  # a damaged attribute read through `.attrs` alone
def test_corrupted_stores(files, capsys, corruption, verb):
    with tempfile.TemporaryDirectory() as folder:
        bad = corrupted_copy(files["store"], folder, "bad.h5", corruption)
        args = {"export": ["export", bad, "--trajectory", 0, "--out", os.path.join(folder, "a.extxyz")],
                "rollout": ["rollout", "--checkpoint", files["checkpoint"], "--data", bad, "--steps", 2,
                            "--out", os.path.join(folder, "r.h5")],
                "evaluate": ["evaluate", "--checkpoint", files["checkpoint"], "--data", bad, "--steps", 2,
                             "--out", os.path.join(folder, "m.json")],
                "merge": ["merge", os.path.join(folder, "m.h5"), bad, files["store"]]}[verb]
        code, err = run(args, capsys)
        if code != 0:
            assert_one_line(code, err, "bad.h5", "m.h5", os.path.basename(files["store"]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(corruption=CORRUPTION, verb=st.sampled_from(["rollout", "export", "init_from"]))
def test_corrupted_checkpoints(files, capsys, corruption, verb):
    with tempfile.TemporaryDirectory() as folder:
        bad = corrupted_copy(files["checkpoint"], folder, "bad.pt", corruption)
        if verb == "init_from":
            config = copy.deepcopy(TRAINING)
            config["data"].update(path=files["store"], split=[0.6, 0.2, 0.2])
            config["train"].update(steps=1, init_from=bad)
            config["log"].update(run_dir=os.path.join(folder, "run"), figures=False, progress=False)
            path = os.path.join(folder, "train.yaml")
            with open(path, "w") as fh:
                yaml.safe_dump(config, fh)
            args = ["train", "--config", path]
        else:
            args = {"rollout": ["rollout", "--checkpoint", bad, "--data", files["store"], "--steps", 2,
                                "--out", os.path.join(folder, "r.h5")],
                    "export": ["export", bad, "--out", os.path.join(folder, "m.pt")]}[verb]
        code, err = run(args, capsys)
        if code != 0:
            assert_one_line(code, err, "bad.pt")


@pytest.mark.parametrize("verb", ["rollout", "evaluate", "train"])
def test_another_systems_store(files, capsys, tmp_path, verb):
    if verb == "train":
        config = copy.deepcopy(TRAINING)
        config["data"]["path"] = files["wave"]
        config["log"]["run_dir"] = str(tmp_path / "run")
        (tmp_path / "t.yaml").write_text(yaml.safe_dump(config))
        args = ["train", "--config", tmp_path / "t.yaml"]
    else:
        args = [verb, "--checkpoint", files["checkpoint"], "--data", files["wave"], "--steps", 2,
                "--out", tmp_path / ("r.h5" if verb == "rollout" else "m.json")]
    assert_one_line(*run(args, capsys), "wave")
    with h5py.File(files["wave"]) as handle:
        assert handle.attrs["system"] == "wave"
