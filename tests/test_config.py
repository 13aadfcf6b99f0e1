"""Config schema: defaults, overrides and one-sentence errors naming the key."""
import pytest

from graphqd import config as cfg
from graphqd.config import Field
from graphqd.errors import ConfigError

SCHEMA = {"seed": Field("int", 0, minimum=0), "model": {"omega": Field("float", 0.4, positive=True),
                                                        "kind": Field("str", "a", choices=["a", "b"])},
          "lattice": {"L": Field("lattice", 8, minimum=2)}}


def test_defaults_and_overrides():
    config = cfg.load(None, ["model.omega=0.5", "lattice.L=[4, 6]"], base={"seed": 2})
    resolved = cfg.validate(config, SCHEMA)
    assert resolved == {"seed": 2, "model": {"omega": 0.5, "kind": "a"}, "lattice": {"L": [4, 6]}}


def test_numbers_in_exponent_notation_without_a_dot():
    """PyYAML reads 1e-4 and 1e6 as strings (YAML 1.1 wants 1.0e-4); a number field takes them as numbers, in a
    file and in --set, and still refuses words and infinities."""
    config = cfg.load(None, ["model.omega=1e-4"])
    assert cfg.validate(config, SCHEMA)["model"]["omega"] == 1e-4
    assert cfg.validate({"model": {"omega": "2E6"}}, SCHEMA)["model"]["omega"] == 2e6
    for word in ("fast", "inf", "nan"):
        with pytest.raises(ConfigError, match="'model.omega' must be a number > 0"):
            cfg.validate({"model": {"omega": word}}, SCHEMA)


@pytest.mark.parametrize("config,match", [
    ({"sed": 1}, "unknown config key 'sed'; allowed keys at the top level: seed, model, lattice"),
    ({"model": {"omga": 1}}, "unknown config key 'model.omga'"),
    ({"model": {"omega": "fast"}}, "config key 'model.omega' must be a number > 0, got 'fast'"),
    ({"model": {"omega": -1.0}}, "'model.omega' must be a number > 0"),
    ({"seed": 1.5}, "'seed' must be an integer >= 0"),
    ({"seed": True}, "'seed' must be an integer"),
    ({"model": {"kind": "c"}}, "'model.kind' must be one of 'a', 'b'"),
    ({"lattice": {"L": [1, 4]}}, "'lattice.L' must be an integer or a list"),
    ({"model": 3}, "config section 'model' must be a mapping"),
])
def test_errors_name_the_key(config, match):
    with pytest.raises(ConfigError, match=match.replace("[", r"\[").replace("(", r"\(")):
        cfg.validate(config, SCHEMA)


def test_bad_override_and_files(tmp_path):
    with pytest.raises(ConfigError, match="dotted.key=value"):
        cfg.apply_override({}, "seed")
    with pytest.raises(ConfigError, match="does not exist"):
        cfg.read_yaml(str(tmp_path / "missing.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        cfg.read_yaml(str(bad))


def test_missing_required_key():
    with pytest.raises(ConfigError, match="'n' is missing"):
        cfg.validate({}, {"n": Field("int")})
