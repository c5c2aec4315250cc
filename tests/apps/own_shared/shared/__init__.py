"""This app's own helpers (same top-level name as the hosting project's package, on purpose)."""
