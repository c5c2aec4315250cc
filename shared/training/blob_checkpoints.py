"""Checkpoints in Blob: a local job mirrors its checkpoint folder to `checkpoints/<job>/` after every
epoch, and a job whose local folder is empty (a new machine) restores it from there first."""

from __future__ import annotations

import logging
from pathlib import Path

from shared.settings import load_settings
from shared.storage.factory import Storage
from shared.training.files import sha256_file

log = logging.getLogger(__name__)
CONTAINER = "checkpoints"


class BlobCheckpoints:
    """Mirror of one job's checkpoint folder in Blob (every blob carries its sha256)."""

    def __init__(self, storage: Storage, job_name: str) -> None:
        self.storage = storage
        self.job_name = job_name
        self._uploaded: dict[str, str] = {}

    def _files(self, folder: Path) -> list[Path]:
        return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.endswith(".tmp"))

    def upload(self, folder: Path) -> int:
        """Upload files that changed since the last upload; returns how many were written."""
        written = 0
        for path in self._files(folder) if folder.is_dir() else []:
            digest = sha256_file(path)
            if self._uploaded.get(path.name) == digest:
                continue
            self.storage.blobs.put_file(CONTAINER, f"{self.job_name}/{path.name}", path)
            self._uploaded[path.name] = digest
            written += 1
        return written

    def restore(self, folder: Path) -> int:
        """Download the mirrored checkpoints (sha256-verified) into an empty folder."""
        folder.mkdir(parents=True, exist_ok=True)
        if self._files(folder):
            return 0
        names = list(self.storage.blobs.list_names(CONTAINER, f"{self.job_name}/"))
        for name in names:
            self.storage.blobs.download_to_file(CONTAINER, name, folder / name.rsplit("/", 1)[1])
        return len(names)

    def on_epoch_end(self, folder: Path) -> None:
        """Upload after an epoch; a storage hiccup is logged, never fatal to training."""
        try:
            self.upload(folder)
        except Exception:
            log.exception("could not mirror checkpoints of %s to Blob", self.job_name)


def for_job(job_name: str) -> BlobCheckpoints | None:
    """The mirror for a job when storage is configured in the job's environment (None otherwise)."""
    settings = load_settings()
    if not settings.has_storage:
        return None
    return BlobCheckpoints(Storage.from_settings(settings), job_name)
