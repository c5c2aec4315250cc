"""Checkpoints in Blob: a local job mirrors its checkpoint folder to ``<container>/<prefix>`` after
every epoch, and a job whose local folder is empty (a new machine, a new attempt) restores it
from there first. On Azure ML the checkpoint folder is that Blob prefix itself (a mount)."""

from __future__ import annotations

import logging
from pathlib import Path

from shared.storage.factory import Storage
from shared.training.files import sha256_file

log = logging.getLogger(__name__)


class BlobCheckpoints:
    """Mirror of one job's checkpoint folder in Blob (every blob carries its sha256)."""

    def __init__(self, storage: Storage, container: str, prefix: str) -> None:
        self.storage = storage
        self.container = container
        self.prefix = prefix if prefix.endswith("/") else f"{prefix}/"
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
            self.storage.blobs.put_file(self.container, f"{self.prefix}{path.name}", path)
            self._uploaded[path.name] = digest
            written += 1
        return written

    def restore(self, folder: Path) -> int:
        """Download the mirrored checkpoints (sha256-verified) into an empty folder."""
        folder.mkdir(parents=True, exist_ok=True)
        if self._files(folder):
            return 0
        count = 0
        for name in self.storage.blobs.list_names(self.container, self.prefix):
            rest = name[len(self.prefix) :]
            if rest and "/" not in rest:
                self.storage.blobs.download_to_file(self.container, name, folder / rest)
                count += 1
        return count

    def on_epoch_end(self, folder: Path) -> None:
        """Upload after an epoch; a storage hiccup is logged, never fatal to training."""
        try:
            self.upload(folder)
        except Exception:
            log.exception("could not mirror checkpoints to %s/%s", self.container, self.prefix)
