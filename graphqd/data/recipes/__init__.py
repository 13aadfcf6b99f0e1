"""Dataset recipes: for each system, the config schema of `graphqd simulate` and the
generator that runs the ground truth into the HDF5 store.

A recipe module defines `SCHEMA` (see graphqd.config) and
`generate(config, out, device, shard) -> None`; the system registry
(`graphqd.runtime.systems`, role `recipe`) names it.
"""
