"""graphqd.train."""
