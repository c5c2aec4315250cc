"""A renewable blob lease used as a singleton lock (the host's ``locks/<hostId>/...`` blobs)."""

from __future__ import annotations

import contextlib
import logging

from azure.core.exceptions import AzureError, HttpResponseError, ResourceExistsError
from azure.storage.blob import BlobLeaseClient, ContainerClient

log = logging.getLogger("devhost.locks")
LEASE_SECONDS = 15


class BlobLock:
    """Acquire/renew/release a lease on one blob (created empty if missing)."""

    def __init__(self, container: ContainerClient, blob_name: str) -> None:
        self.container = container
        self.blob_name = blob_name
        self._lease: BlobLeaseClient | None = None

    @property
    def held(self) -> bool:
        """True while we believe we hold the lease."""
        return self._lease is not None

    def _ensure_blob(self) -> None:
        with contextlib.suppress(ResourceExistsError):
            self.container.create_container()
        blob = self.container.get_blob_client(self.blob_name)
        if not blob.exists():
            # It may have been created concurrently, or be leased by another host already.
            with contextlib.suppress(ResourceExistsError, HttpResponseError):
                blob.upload_blob(b"", overwrite=False)

    def try_acquire(self) -> bool:
        """Take the lease if it is free; False when another holder has it."""
        self._ensure_blob()
        lease = BlobLeaseClient(self.container.get_blob_client(self.blob_name))
        try:
            lease.acquire(lease_duration=LEASE_SECONDS)
        except HttpResponseError as exc:
            if exc.status_code == 409:
                return False
            raise
        self._lease = lease
        return True

    def renew(self) -> bool:
        """Renew; False (and no longer held) when the lease was lost."""
        if self._lease is None:
            return False
        try:
            self._lease.renew()
        except AzureError as exc:
            log.warning("lost lease on %s: %s", self.blob_name, exc.message)
            self._lease = None
            return False
        return True

    def release(self) -> None:
        """Give the lease back (best effort)."""
        lease, self._lease = self._lease, None
        if lease is None:
            return
        try:
            lease.release()
        except AzureError as exc:
            log.warning("releasing lease on %s failed: %s", self.blob_name, exc.message)
