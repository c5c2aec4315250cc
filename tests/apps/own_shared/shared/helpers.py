"""A helper only this app has."""

from __future__ import annotations


def greeting(name: str) -> str:
    """A greeting that shows it came from this app's own module."""
    return f"hello {name} from own_shared.shared.helpers"
