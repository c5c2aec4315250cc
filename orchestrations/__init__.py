"""Durable orchestrators: deterministic generators; no I/O."""
