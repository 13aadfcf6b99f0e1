"""graphqd.models."""
