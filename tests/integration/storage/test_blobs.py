"""BlobStore against real Azurite: sha256 on write, verification on read, rejected names write nothing."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from shared.errors import AlreadyExistsError, BlobNameError, IntegrityError, NotFoundError
from shared.storage.blobs import BlobStore
from shared.storage.clients import StorageClients


def test_put_bytes_records_sha256_and_get_bytes_round_trips(blobs: BlobStore, container: str) -> None:
    ref = blobs.put_bytes(
        container, "a/b.bin", b"hello", content_type="application/x-test", metadata={"k": "v"}
    )
    assert ref.sha256 == hashlib.sha256(b"hello").hexdigest()
    assert (ref.container, ref.name, ref.size) == (container, "a/b.bin", 5)
    assert ref.etag
    assert blobs.sha256_of(container, "a/b.bin") == ref.sha256
    assert blobs.get_bytes(container, "a/b.bin") == b"hello"
    content = blobs.get_blob(container, "a/b.bin")
    assert content.content_type == "application/x-test"
    assert content.metadata["k"] == "v"


def test_exists_delete_and_list_names(blobs: BlobStore, container: str) -> None:
    for name in ("x/1", "x/2", "y/1"):
        blobs.put_bytes(container, name, name.encode())
    assert sorted(blobs.list_names(container, "x/")) == ["x/1", "x/2"]
    assert blobs.exists(container, "y/1")
    assert blobs.delete(container, "y/1") is True
    assert not blobs.exists(container, "y/1")
    assert blobs.delete(container, "y/1") is False
    with pytest.raises(NotFoundError):
        blobs.delete(container, "y/1", missing_ok=False)
    with pytest.raises(NotFoundError):
        blobs.get_bytes(container, "y/1")


def test_overwrite_false_refuses_an_existing_blob(blobs: BlobStore, container: str) -> None:
    blobs.put_bytes(container, "once", b"1")
    with pytest.raises(AlreadyExistsError):
        blobs.put_bytes(container, "once", b"2", overwrite=False)
    with pytest.raises(AlreadyExistsError):
        blobs.put_stream(container, "once", io.BytesIO(b"3"), overwrite=False)
    assert blobs.get_bytes(container, "once") == b"1"


def test_put_stream_uploads_in_chunks_and_hashes_while_streaming(blobs: BlobStore, container: str) -> None:
    data = bytes(range(256)) * 1000  # 256,000 bytes

    class CountingReader(io.BytesIO):
        largest = 0

        def read(self, size: int | None = -1) -> bytes:
            assert size is not None and size > 0, "the store must never ask for the whole stream"
            chunk = super().read(size)
            CountingReader.largest = max(CountingReader.largest, len(chunk))
            return chunk

    ref = blobs.put_stream(container, "big.bin", CountingReader(data), chunk_size=64 * 1024)
    assert CountingReader.largest == 64 * 1024
    assert ref.size == len(data)
    assert ref.sha256 == hashlib.sha256(data).hexdigest()
    assert blobs.get_bytes(container, "big.bin") == data
    block_list = blobs._service.get_blob_client(container, "big.bin").get_block_list()[0]
    assert len(block_list) == 4  # 256,000 bytes in 64 KiB blocks


def test_put_file_and_download_to_file_verify(blobs: BlobStore, container: str, tmp_path: Path) -> None:
    source = tmp_path / "in.bin"
    source.write_bytes(b"abc" * 100_000)
    ref = blobs.put_file(container, "files/in.bin", source)
    target = tmp_path / "out.bin"
    got = blobs.download_to_file(container, "files/in.bin", target)
    assert target.read_bytes() == source.read_bytes()
    assert got.sha256 == ref.sha256


def test_empty_stream_makes_an_empty_blob(blobs: BlobStore, container: str) -> None:
    ref = blobs.put_stream(container, "empty", io.BytesIO(b""))
    assert ref.size == 0
    assert blobs.get_bytes(container, "empty") == b""


def _tamper(clients: StorageClients, container: str, name: str, data: bytes) -> None:
    """Overwrite the bytes directly with the SDK, keeping the recorded metadata (sha256)."""
    blob = clients.blob.get_blob_client(container, name)
    metadata = blob.get_blob_properties().metadata
    blob.upload_blob(data, overwrite=True, metadata=metadata)


def test_a_changed_byte_fails_verified_reads_naming_the_blob(
    blobs: BlobStore, clients: StorageClients, container: str, tmp_path: Path
) -> None:
    original = b"model-bytes-0123456789"
    ref = blobs.put_bytes(container, "models/m.onnx", original)
    changed = bytearray(original)
    changed[5] ^= 0x01
    _tamper(clients, container, "models/m.onnx", bytes(changed))
    actual = hashlib.sha256(bytes(changed)).hexdigest()

    with pytest.raises(IntegrityError) as caught:
        blobs.get_bytes(container, "models/m.onnx")
    message = str(caught.value)
    assert f"{container}/models/m.onnx" in message
    assert ref.sha256 in message and actual in message

    assert blobs.get_bytes(container, "models/m.onnx", verify=False) == bytes(changed)

    target = tmp_path / "m.onnx"
    with pytest.raises(IntegrityError):
        blobs.download_to_file(container, "models/m.onnx", target)
    assert not target.exists(), "a file that failed verification must not appear"
    assert [p.name for p in tmp_path.iterdir()] == []


def test_expected_sha256_overrides_metadata(blobs: BlobStore, container: str) -> None:
    blobs.put_bytes(container, "x", b"payload")
    wrong = hashlib.sha256(b"something else").hexdigest()
    with pytest.raises(IntegrityError, match=wrong):
        blobs.get_bytes(container, "x", expected_sha256=wrong)
    right = hashlib.sha256(b"payload").hexdigest()
    assert blobs.get_bytes(container, "x", expected_sha256=right.upper()) == b"payload"


BAD_NAMES = [
    "",
    "../x",
    "a/../x",
    "a/./b",
    "./a",
    "a.",
    "a/b./c",
    "a\x01b",
    "a\x00b",
    "a\x7fb",
    "a\nb",
    "x" * 1025,
    "/abs",
    "\\abs",
    "C:/x",
    "c:x",
    "a\\b",
    "a//b",
    "a/",
    "/".join(["s"] * 255),
]


@pytest.mark.parametrize("name", BAD_NAMES, ids=lambda n: repr(n)[:30])
def test_bad_blob_names_are_rejected_before_anything_is_written(
    blobs: BlobStore, container: str, tmp_path: Path, name: str
) -> None:
    blobs.put_bytes(container, "sentinel", b"s")  # the container exists, so a stray write would show
    calls = [
        lambda: blobs.put_bytes(container, name, b"data"),
        lambda: blobs.put_stream(container, name, io.BytesIO(b"data")),
        lambda: blobs.get_bytes(container, name),
        lambda: blobs.exists(container, name),
        lambda: blobs.delete(container, name),
        lambda: blobs.download_to_file(container, name, tmp_path / "f"),
    ]
    for call in calls:
        with pytest.raises(BlobNameError) as caught:
            call()
        assert repr(name[:20]).rstrip("'") in str(caught.value) or name == ""
    assert list(blobs.list_names(container)) == ["sentinel"]


def test_bad_container_names_are_rejected(blobs: BlobStore) -> None:
    for bad in ("ab", "Upper", "a--b", "-ab", "ab-", "a_b", "x" * 64):
        with pytest.raises(BlobNameError):
            blobs.put_bytes(bad, "x", b"1")


def test_containers_are_created_once_per_process_and_recreated_if_deleted(
    blobs: BlobStore, clients: StorageClients, unique: str
) -> None:
    name = f"once-{unique}"
    blobs.put_bytes(name, "a", b"1")
    clients.blob.delete_container(name)
    # Cached: ensure_container does not call the service again, so the container stays gone.
    blobs.ensure_container(name)
    assert not clients.blob.get_container_client(name).exists()
    # A write that meets the missing container recreates it and succeeds.
    blobs.put_bytes(name, "b", b"2")
    blobs.put_stream(name, "c", io.BytesIO(b"3"))
    assert sorted(blobs.list_names(name)) == ["b", "c"]
