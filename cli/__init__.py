"""`mlops` command line (Typer + Rich)."""
