"""The documentation site builds in strict mode, and its generated reference covers every key and verb."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

from graphqd.cli import VERBS
from graphqd.config import Field
from graphqd.models.registry import available, model_class
from graphqd.runtime import systems
from graphqd.train.config import SECTIONS

ROOT = Path(__file__).resolve().parent.parent
pytest.importorskip("mkdocs", reason="the docs extras (mkdocs, mkdocs-material, mkdocstrings) are in .[dev]")


def dotted(schema: dict, prefix: str = ""):
    for name, spec in schema.items():
        if isinstance(spec, dict):
            yield from dotted(spec, f"{prefix}{name}.")
        else:
            assert isinstance(spec, Field)
            yield prefix + name


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def text(html: Path) -> str:
    return re.sub(r"<[^>]+>", "", html.read_text())


def test_config_reference_lists_every_key_with_a_meaning(site):
    page = text(site / "reference" / "config.html")
    schemas = [("", systems.get(name).load("recipe").SCHEMA) for name in systems.names()] + [("", SECTIONS)]
    schemas += [("model.", model_class(name).SCHEMA) for name in available()]
    missing = [prefix + key for prefix, schema in schemas for key in dotted(schema) if prefix + key not in page]
    assert missing == []
    assert all(name in page for name in available())
    undocumented = [prefix + key for prefix, schema in schemas for key in dotted(schema) if not _field(schema, key).doc]
    assert undocumented == []


def _field(schema: dict, key: str) -> Field:
    for part in key.split("."):
        schema = schema[part]
    return schema


def test_cli_reference_has_every_verb(site):
    page = text(site / "reference" / "cli.html")
    for verb in VERBS:
        assert f"usage: graphqd {verb}" in page


def test_api_and_reports_are_rendered(site):
    api = text(site / "api" / "ground_truth.html")
    assert "HolsteinParams" in api and "dρ/dt = −i[h(Q), ρ]" in api
    report = site / "experiments" / "holstein_parc" / "results" / "index.html"
    figures = re.findall(r'<img[^>]+src="([^"]+)"', report.read_text())
    assert figures and all((report.parent / src).is_file() for src in figures)
