"""``python -m devhost [--app DIR] [--port 7071] [--host 127.0.0.1]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from devhost.host import HostOptions, run


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run the host."""
    parser = argparse.ArgumentParser(
        prog="devhost", description="Local Azure Functions host for Python v2 apps."
    )
    parser.add_argument(
        "--app", type=Path, default=Path.cwd(), help="app folder (function_app.py + host.json)"
    )
    parser.add_argument("--port", type=int, default=7071)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    return run(HostOptions(app_dir=args.app, host=args.host, port=args.port))


if __name__ == "__main__":
    sys.exit(main())
