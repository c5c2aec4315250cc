"""Orchestrator and activity names: the only place they are spelled."""

from __future__ import annotations
