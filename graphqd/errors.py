"""Errors a user can cause. The CLI prints their one-sentence message and exits non-zero."""


class GraphqdError(Exception):
    """A problem with the user's input (config, file, value), stated in one sentence."""


class ConfigError(GraphqdError):
    """A config key is unknown, of the wrong type or out of range."""


class StoreError(GraphqdError):
    """An HDF5 store is missing, foreign, truncated or incompatible with the request."""
