"""`graphqd bench`: each module here measures one system.

A bench module provides `add_arguments(parser)` (its own options) and `run(args) -> dict`,
which prints its table (`common.format_table`) and returns the JSON payload; the CLI
adds `--device`, `--out` and `--quick` to every bench and writes the payload with
`common.write_json`.
"""
