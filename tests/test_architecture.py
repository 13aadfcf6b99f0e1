"""The layers of DESIGN.md §1 as an import-linter contract (setup.cfg): kept by the tree, and
broken by an arrow that points up."""
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = str(Path(sys.executable).parent / "lint-imports")


def lint(cwd):
    return subprocess.run([LINT_IMPORTS, "--no-cache", str(ROOT / "setup.cfg")], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_the_tree_keeps_the_layers():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout
    assert "layers, arrows only downward KEPT" in result.stdout


def test_an_upward_import_breaks_the_contract(tmp_path):
    shutil.copytree(ROOT / "graphqd", tmp_path / "graphqd", ignore=shutil.ignore_patterns("__pycache__"))
    physics = tmp_path / "graphqd" / "physics" / "lattice.py"
    physics.write_text(physics.read_text() + "\nimport graphqd.models.registry  # ground truth reaching up\n")
    result = lint(tmp_path)
    assert result.returncode != 0
    assert "graphqd.physics is not allowed to import graphqd.models" in result.stdout
