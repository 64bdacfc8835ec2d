"""Fixtures of the host agent's unit tests: an in-memory region, a tiny real application as the artifact."""
