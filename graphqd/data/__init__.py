"""graphqd.data."""
