"""BlobStore: validated names, sha256 recorded on write and verified on read, chunked streams."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, TypeVar

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobBlock, BlobServiceClient, ContentSettings

from shared.errors import IntegrityError, NotFoundError
from shared.storage.errors import mapped_errors
from shared.storage.names import validate_blob_name, validate_container_name

SHA256_METADATA = "sha256"
T = TypeVar("T")
#: Block size for streamed uploads: big enough to be efficient, small enough to bound memory.
CHUNK_SIZE = 4 * 1024 * 1024

# Containers this process already created, per account: creating once saves a call per write.
_created_containers: set[tuple[str, str]] = set()
_created_lock = threading.Lock()


@dataclass(frozen=True)
class BlobRef:
    """Where a blob lives and what its bytes hash to."""

    container: str
    name: str
    sha256: str
    size: int
    etag: str


@dataclass(frozen=True)
class BlobInfo:
    """A listed blob: where it is, its ETag, size, last-modified time and recorded sha256 (if any)."""

    container: str
    name: str
    etag: str
    size: int
    last_modified: datetime
    sha256: str | None


@dataclass(frozen=True)
class BlobContent:
    """A downloaded blob with the properties a reader may need."""

    data: bytes
    content_type: str | None
    metadata: dict[str, str] = field(default_factory=dict)


def _check_sha(container: str, name: str, expected: str | None, actual: str) -> None:
    if expected is None:
        raise IntegrityError(
            f"blob {container}/{name} has no recorded sha256 to verify against", field="sha256"
        )
    if expected.lower() != actual:
        raise IntegrityError(
            f"blob {container}/{name} failed its integrity check: expected sha256 {expected.lower()}, "
            f"actual {actual}",
            field="sha256",
        )


class BlobStore:
    """Blob reads and writes that validate names first and keep every blob's sha256 in metadata."""

    def __init__(self, blob_service_client: BlobServiceClient) -> None:
        self._service = blob_service_client

    # -- containers -------------------------------------------------------------------------

    def ensure_container(self, container: str) -> None:
        """Create ``container`` unless this process already did (idempotent)."""
        validate_container_name(container)
        key = (self._service.url, container)
        with _created_lock:
            if key in _created_containers:
                return
        client = self._service.get_container_client(container)
        with mapped_errors("blob", f"container {container}"):
            if not client.exists():
                with contextlib.suppress(ResourceExistsError):  # a racing creator won: fine
                    client.create_container()
        with _created_lock:
            _created_containers.add(key)

    def forget_container(self, container: str) -> None:
        """Drop ``container`` from the created-once cache (after deleting it elsewhere)."""
        with _created_lock:
            _created_containers.discard((self._service.url, container))

    def _writing(self, container: str, write: Callable[[], T]) -> T:
        # The cache can be stale (someone deleted the container): recreate it once and retry.
        try:
            return write()
        except ResourceNotFoundError as exc:
            if getattr(exc, "error_code", None) != "ContainerNotFound":
                raise
        self.forget_container(container)
        self.ensure_container(container)
        return write()

    # -- writes -----------------------------------------------------------------------------

    def put_bytes(
        self,
        container: str,
        name: str,
        data: bytes,
        *,
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
        overwrite: bool = True,
    ) -> BlobRef:
        """Upload ``data`` with its sha256 in metadata (AlreadyExistsError if present and not overwrite)."""
        validate_container_name(container)
        validate_blob_name(name)
        digest = hashlib.sha256(data).hexdigest()
        self.ensure_container(container)
        meta = {**(metadata or {}), SHA256_METADATA: digest}
        blob = self._service.get_blob_client(container, name)
        with mapped_errors("blob", f"blob {container}/{name}"):
            result = self._writing(
                container,
                lambda: blob.upload_blob(
                    data,
                    overwrite=overwrite,
                    metadata=meta,
                    content_settings=ContentSettings(content_type=content_type) if content_type else None,
                ),
            )
        return BlobRef(container, name, digest, len(data), str(result.get("etag", "")))

    def put_stream(
        self,
        container: str,
        name: str,
        stream: IO[bytes],
        *,
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
        overwrite: bool = True,
        chunk_size: int = CHUNK_SIZE,
    ) -> BlobRef:
        """Upload a stream block by block, hashing as it goes; never holds more than one chunk."""
        validate_container_name(container)
        validate_blob_name(name)
        self.ensure_container(container)
        blob = self._service.get_blob_client(container, name)
        hasher = hashlib.sha256()
        blocks: list[BlobBlock] = []
        size = 0
        # Random block-id prefix: two writers staging the same blob cannot mix blocks.
        prefix = uuid.uuid4().hex
        with mapped_errors("blob", f"blob {container}/{name}"):
            while True:
                chunk = stream.read(chunk_size)
                if not chunk:
                    break
                hasher.update(chunk)
                size += len(chunk)
                block_id = base64.b64encode(f"{prefix}-{len(blocks):08d}".encode()).decode()
                self._writing(container, lambda: blob.stage_block(block_id, chunk))  # noqa: B023 - called at once
                blocks.append(BlobBlock(block_id=block_id))
            digest = hasher.hexdigest()
            # Without overwrite, If-None-Match: * makes the commit fail when the blob exists.
            conditions: dict[str, Any] = {} if overwrite else {"match_condition": MatchConditions.IfMissing}
            result = blob.commit_block_list(
                blocks,
                metadata={**(metadata or {}), SHA256_METADATA: digest},
                content_settings=ContentSettings(content_type=content_type) if content_type else None,
                **conditions,
            )
        return BlobRef(container, name, digest, size, str(result.get("etag", "")))

    def put_file(
        self,
        container: str,
        name: str,
        path: str | os.PathLike[str],
        *,
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
        overwrite: bool = True,
    ) -> BlobRef:
        """Upload a local file in chunks (see put_stream)."""
        validate_container_name(container)
        validate_blob_name(name)
        with open(path, "rb") as handle:
            return self.put_stream(
                container, name, handle, content_type=content_type, metadata=metadata, overwrite=overwrite
            )

    # -- reads ------------------------------------------------------------------------------

    def get_blob(
        self, container: str, name: str, *, verify: bool = True, expected_sha256: str | None = None
    ) -> BlobContent:
        """Download a blob with its content type; verify against ``expected_sha256`` or metadata."""
        validate_container_name(container)
        validate_blob_name(name)
        blob = self._service.get_blob_client(container, name)
        with mapped_errors("blob", f"blob {container}/{name}"):
            downloader = blob.download_blob()
            data = downloader.readall()
        props = downloader.properties
        metadata = dict(props.metadata or {})
        if verify:
            expected = expected_sha256 or metadata.get(SHA256_METADATA)
            _check_sha(container, name, expected, hashlib.sha256(data).hexdigest())
        return BlobContent(data, props.content_settings.content_type, metadata)

    def get_bytes(
        self, container: str, name: str, *, verify: bool = True, expected_sha256: str | None = None
    ) -> bytes:
        """Download a blob's bytes; IntegrityError when they do not hash to the recorded sha256."""
        return self.get_blob(container, name, verify=verify, expected_sha256=expected_sha256).data

    def download_to_file(
        self,
        container: str,
        name: str,
        path: str | os.PathLike[str],
        *,
        verify: bool = True,
        expected_sha256: str | None = None,
    ) -> BlobRef:
        """Stream a blob to ``path`` chunk by chunk; the file only appears once it verified."""
        validate_container_name(container)
        validate_blob_name(name)
        target = Path(path)
        partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
        blob = self._service.get_blob_client(container, name)
        hasher = hashlib.sha256()
        size = 0
        try:
            with mapped_errors("blob", f"blob {container}/{name}"):
                downloader = blob.download_blob()
                with open(partial, "wb") as handle:
                    for chunk in downloader.chunks():
                        hasher.update(chunk)
                        size += len(chunk)
                        handle.write(chunk)
            props = downloader.properties
            digest = hasher.hexdigest()
            if verify:
                expected = expected_sha256 or (props.metadata or {}).get(SHA256_METADATA)
                _check_sha(container, name, expected, digest)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        return BlobRef(container, name, digest, size, str(props.etag or ""))

    def sha256_of(self, container: str, name: str) -> str | None:
        """The sha256 recorded in a blob's metadata (None when it has none); NotFoundError if absent."""
        validate_container_name(container)
        validate_blob_name(name)
        with mapped_errors("blob", f"blob {container}/{name}"):
            props = self._service.get_blob_client(container, name).get_blob_properties()
        return (props.metadata or {}).get(SHA256_METADATA)

    def exists(self, container: str, name: str) -> bool:
        """True when the blob exists."""
        validate_container_name(container)
        validate_blob_name(name)
        with mapped_errors("blob", f"blob {container}/{name}"):
            return bool(self._service.get_blob_client(container, name).exists())

    def delete(self, container: str, name: str, *, missing_ok: bool = True) -> bool:
        """Delete a blob; True when it existed (NotFoundError when missing and not missing_ok)."""
        validate_container_name(container)
        validate_blob_name(name)
        blob = self._service.get_blob_client(container, name)
        try:
            with mapped_errors("blob", f"blob {container}/{name}"):
                blob.delete_blob(delete_snapshots="include")
        except NotFoundError:
            if missing_ok:
                return False
            raise
        return True

    def open_write(
        self,
        container: str,
        name: str,
        *,
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> BlobWriter:
        """A file-like writer that stages blocks as bytes arrive and commits on close (bounded memory)."""
        return BlobWriter(self, container, name, content_type=content_type, metadata=metadata)

    def open_range(
        self, container: str, name: str, *, verify: bool = False, etag: str | None = None
    ) -> BlobRangeReader:
        """A seekable reader downloading only the ranges read, pinned to one ETag (see BlobRangeReader)."""
        return BlobRangeReader(self, container, name, verify=verify, etag=etag)

    def list_names(self, container: str, prefix: str | None = None) -> Iterator[str]:
        """Blob names in ``container`` starting with ``prefix``, streamed (none when no container)."""
        validate_container_name(container)
        client = self._service.get_container_client(container)
        try:
            with mapped_errors("blob", f"container {container}"):
                for item in client.list_blobs(name_starts_with=prefix or None):
                    yield str(item.name)
        except NotFoundError:
            return  # no container yet means no blobs

    def list_info(self, container: str, prefix: str | None = None) -> Iterator[BlobInfo]:
        """Blobs starting with ``prefix``, with their properties, streamed (none when no container)."""
        validate_container_name(container)
        client = self._service.get_container_client(container)
        try:
            with mapped_errors("blob", f"container {container}"):
                for item in client.list_blobs(name_starts_with=prefix or None, include=["metadata"]):
                    etag = str(item.etag or "")
                    yield BlobInfo(
                        container,
                        str(item.name),
                        # Listings give the ETag bare, headers quoted: quote it so If-Match pins work alike.
                        etag if etag.startswith('"') or not etag else f'"{etag}"',
                        int(item.size or 0),
                        item.last_modified,
                        (item.metadata or {}).get(SHA256_METADATA),
                    )
        except NotFoundError:
            return


# -- streaming ------------------------------------------------------------------------------
# Activities read and write datasets larger than their memory: a writer stages blocks as bytes
# arrive and commits them (with the sha256 of everything written) on close; readers download a
# blob as a stream of chunks or by byte ranges, pinned to the ETag seen when opened, so every
# read of one open sees the same bytes even if the blob is overwritten meanwhile.


class BlobWriter(io.RawIOBase):
    """A write-only file over a block blob: ``close`` commits, ``abort`` drops what was staged."""

    def __init__(
        self,
        store: BlobStore,
        container: str,
        name: str,
        *,
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
        block_size: int = CHUNK_SIZE,
    ) -> None:
        super().__init__()
        validate_container_name(container)
        validate_blob_name(name)
        store.ensure_container(container)
        self._store, self._container, self._name = store, container, name
        self._blob = store._service.get_blob_client(container, name)
        self._content_type, self._metadata = content_type, dict(metadata or {})
        self._block_size = block_size
        self._buffer = bytearray()
        self._blocks: list[BlobBlock] = []
        self._prefix = uuid.uuid4().hex  # two writers of one blob cannot mix blocks
        self._sha = hashlib.sha256()
        self._size = 0
        self._aborted = False
        self.ref: BlobRef | None = None
        # One background upload at a time overlaps the network with producing the next block;
        # waiting for it before the next submit bounds memory to two blocks.
        self._uploader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="blob-writer")
        self._pending: Future[None] | None = None

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._size

    def write(self, data: Any) -> int:  # bytes-like
        view = memoryview(data).cast("B")
        self._sha.update(view)
        self._buffer += view
        self._size += len(view)
        while len(self._buffer) >= self._block_size:
            self._stage(bytes(self._buffer[: self._block_size]))
            del self._buffer[: self._block_size]
        return len(view)

    def _stage(self, block: bytes) -> None:
        block_id = base64.b64encode(f"{self._prefix}-{len(self._blocks):08d}".encode()).decode()
        self._wait()
        self._pending = self._uploader.submit(self._upload, block_id, block)
        self._blocks.append(BlobBlock(block_id=block_id))

    def _upload(self, block_id: str, block: bytes) -> None:
        with mapped_errors("blob", f"blob {self._container}/{self._name}"):
            self._store._writing(self._container, lambda: self._blob.stage_block(block_id, block))

    def _wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()  # re-raises the upload's error here

    def abort(self) -> None:
        """Close without committing (staged blocks expire unused)."""
        self._aborted = True
        self.close()

    def close(self) -> None:
        if self.closed:
            return
        try:
            if not self._aborted:
                if self._buffer:
                    self._stage(bytes(self._buffer))
                    self._buffer.clear()
                self._wait()
                digest = self._sha.hexdigest()
                settings = ContentSettings(content_type=self._content_type) if self._content_type else None
                with mapped_errors("blob", f"blob {self._container}/{self._name}"):
                    result = self._blob.commit_block_list(
                        self._blocks,
                        metadata={**self._metadata, SHA256_METADATA: digest},
                        content_settings=settings,
                    )
                etag = str(result.get("etag", ""))
                self.ref = BlobRef(self._container, self._name, digest, self._size, etag)
        finally:
            self._uploader.shutdown(wait=True)
            super().close()


class BlobRangeReader(io.RawIOBase):
    """A seekable read-only file over a blob that downloads only the byte ranges read.

    Reads are pinned to the ETag seen at open: a blob overwritten meanwhile fails the read
    instead of mixing two versions. ``verify`` first streams the whole blob once to check its
    recorded sha256 (for blobs written by another activity).
    """

    def __init__(
        self, store: BlobStore, container: str, name: str, *, verify: bool = False, etag: str | None = None
    ) -> None:
        super().__init__()
        validate_container_name(container)
        validate_blob_name(name)
        self._where = f"blob {container}/{name}"
        self._blob = store._service.get_blob_client(container, name)
        with mapped_errors("blob", self._where):
            props = self._blob.get_blob_properties()
        self.size = int(props.size)
        self.etag = etag or str(props.etag)
        self.metadata = dict(props.metadata or {})
        self._pos = 0
        if verify:
            hasher = hashlib.sha256()
            for chunk in self.stream():
                hasher.update(chunk)
            _check_sha(container, name, self.metadata.get(SHA256_METADATA), hasher.hexdigest())

    def _pinned(self) -> dict[str, Any]:
        return {"etag": self.etag, "match_condition": MatchConditions.IfNotModified}

    def stream(self, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        """The blob's bytes (or a range of them) as downloaded chunks, in order."""
        if self.size == 0 or offset >= self.size:
            return
        with mapped_errors("blob", self._where):
            downloader = self._blob.download_blob(offset=offset, length=length, **self._pinned())
            yield from downloader.chunks()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        length = min(len(buffer), self.size - self._pos)
        if length <= 0:
            return 0
        with mapped_errors("blob", self._where):
            data = self._blob.download_blob(offset=self._pos, length=length, **self._pinned()).readall()
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


class BlobStreamReader(io.RawIOBase):
    """A sequential read-only file over a blob (or one byte range of it), downloaded chunk by chunk."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        super().__init__()
        self._chunks = chunks
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n
