"""Trainer scripts: the only code a ``command`` trainer may run.

Two homes, both trusted: scripts shipped with the deployed app (``trainers/<name>`` at the
project root, deployed with the code) and scripts an admin-level caller registered through
``POST /api/admin/scripts/<name>`` (stored create-only in the ``trainer-scripts`` container with
their sha256). A spec names a script and may pin its sha256; the submit step copies the verified
bytes into the job folder and the job checks them again before running them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from shared.errors import AlreadyExistsError, IntegrityError, NotFoundError, ValidationError
from shared.pipeline.sections import SCRIPT_NAME, CommandTrainer
from shared.steps import audit
from shared.storage.factory import Storage
from shared.training.trainers.command import SCRIPT_FILE

#: The internal code container (never a data container; see shared.settings.INTERNAL_CONTAINERS).
CODE_CONTAINER = "trainer-scripts"
#: Scripts shipped with the app.
SHIPPED_DIR = Path(__file__).resolve().parents[2] / "trainers"
MAX_SCRIPT_BYTES = 256 * 1024


@dataclass(frozen=True)
class TrainerScript:
    """A trusted script's bytes, their sha256 and where the script comes from."""

    name: str
    sha256: str
    origin: Literal["app", "registered"]
    data: bytes

    def describe(self) -> dict[str, Any]:
        """The JSON view of the script (no bytes)."""
        return {"name": self.name, "sha256": self.sha256, "origin": self.origin, "size": len(self.data)}


def check_script_name(name: str, field: str = "name") -> str:
    """``name`` when it is a valid script name (lowercase file name ending in .py), else 400."""
    if not SCRIPT_NAME.match(name):
        raise ValidationError(
            f"script name must be a lowercase file name ending in .py (no folders), not {name!r}", field=field
        )
    return name


def _shipped(name: str) -> TrainerScript | None:
    path = SHIPPED_DIR / name
    if not path.is_file():
        return None
    data = path.read_bytes()
    return TrainerScript(name, hashlib.sha256(data).hexdigest(), "app", data)


def register_script(storage: Storage, name: str, data: bytes, actor: str) -> TrainerScript:
    """Store a new script create-only with its sha256 (409 when the name is taken); audited."""
    check_script_name(name)
    if not data:
        raise ValidationError("the request body must be the script's source", field="body")
    if len(data) > MAX_SCRIPT_BYTES:
        raise ValidationError(f"a trainer script is at most {MAX_SCRIPT_BYTES} bytes", field="body")
    try:
        compile(data.decode("utf-8"), name, "exec")  # syntax only: nothing runs here
    except (UnicodeDecodeError, SyntaxError, ValueError) as exc:
        raise ValidationError(f"the script is not valid UTF-8 Python: {exc}", field="body") from exc
    if _shipped(name) is not None:
        raise AlreadyExistsError(f"script {name!r} is shipped with the app; pick another name", field="name")
    try:
        ref = storage.blobs.put_bytes(
            CODE_CONTAINER,
            name,
            data,
            content_type="text/x-python",
            metadata={"registered_by": actor[:256]},
            overwrite=False,
        )
    except AlreadyExistsError as exc:
        raise AlreadyExistsError(
            f"script {name!r} is registered already; scripts are never replaced, register a new name",
            field="name",
        ) from exc
    audit.record(storage, f"script:{name}", "script_registered", "registered", {"sha256": ref.sha256}, actor)
    return TrainerScript(name, ref.sha256, "registered", data)


def find_script(storage: Storage, name: str, field: str = "trainer.script") -> TrainerScript:
    """The shipped or registered script ``name``, its bytes verified against the recorded sha256."""
    check_script_name(name, field)
    shipped = _shipped(name)
    if shipped is not None:
        return shipped
    try:
        content = storage.blobs.get_blob(CODE_CONTAINER, name)
    except NotFoundError as exc:
        raise ValidationError(
            f"no trainer script named {name!r} is shipped with the app or registered by an admin",
            field=field,
        ) from exc
    except IntegrityError as exc:
        raise ValidationError(
            f"registered script {name!r} does not match its recorded sha256: refused", field=field
        ) from exc
    return TrainerScript(name, hashlib.sha256(content.data).hexdigest(), "registered", content.data)


def resolve_trainer_script(storage: Storage, trainer: CommandTrainer) -> TrainerScript:
    """The script a command trainer names, checked against the spec's sha256 pin when it has one."""
    script = find_script(storage, trainer.script)
    if trainer.sha256 is not None and trainer.sha256 != script.sha256:
        raise ValidationError(
            f"script {trainer.script!r} has sha256 {script.sha256}, not the pinned {trainer.sha256}",
            field="trainer.sha256",
        )
    return script


def stage_script(storage: Storage, trainer: CommandTrainer, data_dir: Path) -> dict[str, Any]:
    """Copy the verified script into the job folder; the job.json trainer dict that pins it."""
    script = resolve_trainer_script(storage, trainer)
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / SCRIPT_FILE).write_bytes(script.data)
    return {
        "type": "command",
        "script": script.name,
        "sha256": script.sha256,
        "args": list(trainer.args),
        "inputs": trainer.inputs,
    }


def list_scripts(storage: Storage) -> list[dict[str, Any]]:
    """Every shipped and registered script (name, sha256, origin, size)."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(SHIPPED_DIR.glob("*.py")) if SHIPPED_DIR.is_dir() else []:
        script = _shipped(path.name)
        if script is not None and SCRIPT_NAME.match(path.name):
            found[path.name] = script.describe()
    for name in storage.blobs.list_names(CODE_CONTAINER):
        if name not in found:
            found[name] = {
                "name": name,
                "sha256": storage.blobs.sha256_of(CODE_CONTAINER, name),
                "origin": "registered",
            }
    return sorted(found.values(), key=lambda item: str(item["name"]))
