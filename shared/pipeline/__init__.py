"""Pipeline declaration: the YAML spec a user writes and its validation."""
