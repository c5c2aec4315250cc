"""Trigger wrappers (thin): parse input, call shared/, return JSON."""
