"""mkdocs hook: pages generated from the repository at every build, so the site cannot drift from the code.

- ``index.md`` and ``ARCHITECTURE.md``: the repository's README.md and ARCHITECTURE.md;
- ``reference/cli.md``: the ``--help`` of every verb, from the parser the ``graphqd`` command builds;
- ``reference/config.md``: every key of every recipe, training section and model, from the
  schemas that validate them (`graphqd.config.Field`: kind, bounds, default, doc);
- ``experiments/…`` and ``datasets/…``: the experiment reports with the figures, tables and
  configs they link to, and the dataset recipes, at their repository paths so their relative
  links hold.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parent.parent
# files of experiments/ and datasets/ that pages link to or show (checkpoints and data stay out)
ASSETS = (".md", ".png", ".json", ".csv", ".txt", ".yaml", ".py", ".sh", ".sbatch")


def on_files(files, config):
    generated = {"index.md": (ROOT / "README.md").read_text(),
                 "ARCHITECTURE.md": (ROOT / "ARCHITECTURE.md").read_text(),
                 "reference/cli.md": cli_reference(), "reference/config.md": config_reference()}
    for path, content in generated.items():
        files.append(File.generated(config, path, content=content))
    for folder in ("experiments", "datasets"):
        for source in sorted((ROOT / folder).rglob("*")):
            if source.is_file() and source.suffix in ASSETS and "__pycache__" not in source.parts:
                path = source.relative_to(ROOT).as_posix()
                files.append(File(path, str(ROOT), config["site_dir"], config["use_directory_urls"]))
    return files


def cli_reference() -> str:
    from graphqd.cli import build_parser

    os.environ["COLUMNS"] = "100"  # argparse wraps help at the terminal width
    lines = ["# Command line", "",
             "Generated from the parser of the `graphqd` command. Every verb exits with status 2 and one line "
             "naming the key, file or value on bad input.", ""]

    def walk(parser: argparse.ArgumentParser, depth: int):
        lines.extend([f"{'#' * depth} `{parser.prog}`", "", "```text", parser.format_help().rstrip(), "```", ""])
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in dict.fromkeys(action.choices.values()):
                    walk(sub, depth + 1)

    walk(build_parser(), 2)
    return "\n".join(lines)


def config_reference() -> str:
    from graphqd.models.registry import available, model_class
    from graphqd.runtime import systems
    from graphqd.train.config import SECTIONS

    lines = ["# Configuration keys", "",
             "Generated from the schemas that validate every config (`graphqd.config.Field`), so this page lists "
             "exactly what `graphqd simulate` and `graphqd train` accept. Any key can be overridden on the command "
             "line with `--set dotted.key=value`; an unknown key, a wrong type or an out-of-range value stops the "
             "command with one line naming the key.", "",
             "## Dataset recipes (`graphqd simulate SYSTEM --config …`)", ""]
    for name in systems.names():
        recipe = systems.get(name).load("recipe")
        lines.extend([f"### {name}", "", first_paragraph(recipe.__doc__), ""] + schema_table(recipe.SCHEMA) + [""])
    lines.extend(["## Training configs (`graphqd train --config …`)", "",
                  "Sections `data`, `optim`, `schedule`, `train` and `log` are the same for every model; the "
                  "`model` section is `name` plus that model's keys (below).", ""])
    lines.extend(schema_table(SECTIONS) + [""])
    lines.extend(["## Models (`model.name`)", ""])
    for name in available():
        cls = model_class(name)
        lines.extend([f"### {name}", "", f"`{cls.__module__}.{cls.__qualname__}`: {first_paragraph(cls.__doc__)}", ""]
                     + schema_table(cls.SCHEMA, "model.") + [""])
    return "\n".join(lines)


def schema_table(schema: dict, prefix: str = "") -> list[str]:
    from graphqd.config import REQUIRED

    rows = ["| key | allowed | default | meaning |", "|---|---|---|---|"]

    def walk(node: dict, prefix: str):
        for name, spec in node.items():
            if isinstance(spec, dict):
                walk(spec, f"{prefix}{name}.")
                continue
            default = "*required*" if spec.default is REQUIRED else f"`{spec.default!r}`"
            rows.append(f"| `{prefix}{name}` | {escape(spec.allowed())} | {escape(default)} | {escape(spec.doc)} |")

    walk(schema, prefix)
    return rows


def first_paragraph(doc: str | None) -> str:
    return " ".join((doc or "").strip().split("\n\n")[0].split())


def escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
