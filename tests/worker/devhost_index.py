"""Index an app folder the way devhost does at start, without storage or a port.

Run with the project's Python (``.venv/bin/python tests/worker/devhost_index.py APP_DIR...``); prints
one JSON object shaped like ``worker_index.py``'s, so the two can be compared. Folders are indexed one
after another in this process, each with a fresh ``function_app`` module.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from devhost.environment import app_settings
from devhost.errors import DevhostError
from devhost.host import index_app
from devhost.hostjson import read_host_json


def index(app_dir: Path) -> dict[str, Any]:
    """host.json, settings, import and index: the steps ``devhost.host.run`` takes before anything starts."""
    try:
        app = index_app(app_dir, read_host_json(app_dir), app_settings(app_dir))
    except DevhostError as exc:
        return {"ok": False, "error": str(exc), "type": type(exc).__name__}
    return {"ok": True, "functions": sorted(f.name for f in app.functions)}


if __name__ == "__main__":
    folders = [Path(folder).resolve() for folder in sys.argv[1:]]  # before index_app changes directory
    print(json.dumps({str(folder): index(folder) for folder in folders}))
