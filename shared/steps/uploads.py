"""Data uploads: a client's local CSV/Parquet file stored content-addressed in the data container.

``mlops run spec.yaml`` with a local source uploads the file here and submits the spec with the
returned blob source, so one spec works against devhost and Azure alike. The blob name is
``uploads/<sha256>/<name>``: the same bytes always land at the same name, a repeated upload
writes nothing, and nothing is ever overwritten (create-only).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from shared.errors import AlreadyExistsError, ConfigurationError, ValidationError
from shared.settings import Settings
from shared.storage.factory import Storage

#: Container uploads go to when it is one of the configured data containers (the default one).
UPLOAD_CONTAINER = "data"
UPLOAD_PREFIX = "uploads"
#: Largest upload accepted in one request (the Functions HTTP limit is 100 MB as well).
MAX_UPLOAD_BYTES = 100 * 1024 * 1024
#: Upload names are one plain file name with a data suffix: no folders, no hidden files.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_SUFFIXES = (".csv", ".parquet", ".pq")


class UploadTooLargeError(ValidationError):
    """The upload is larger than MAX_UPLOAD_BYTES."""

    http_status = 413


@dataclass(frozen=True)
class Upload:
    """Where an upload was stored and the spec source string that names it."""

    container: str
    name: str
    sha256: str
    size: int
    created: bool

    @property
    def source(self) -> str:
        """The spec source shorthand, e.g. ``blob:data/uploads/<sha>/iris.csv``."""
        return f"blob:{self.container}/{self.name}"

    def to_dict(self) -> dict[str, object]:
        """JSON body of the upload endpoint."""
        return {
            "source": self.source,
            "container": self.container,
            "name": self.name,
            "sha256": self.sha256,
            "size": self.size,
            "created": self.created,
        }


def validate_upload_name(name: str | None) -> str:
    """The file name, or ValidationError naming ``name``: a plain .csv/.parquet/.pq file name."""
    if not name:
        raise ValidationError("query parameter 'name' is required (e.g. name=train.csv)", field="name")
    if not _NAME.match(name) or name.endswith("."):
        raise ValidationError(
            f"name {name!r} rejected: 1-128 letters, digits, '.', '_' or '-', starting with a letter "
            "or digit, no folders",
            field="name",
        )
    if not name.lower().endswith(_SUFFIXES):
        raise ValidationError(f"name {name!r} must end in one of {', '.join(_SUFFIXES)}", field="name")
    return name


def upload_container(settings: Settings) -> str:
    """``data`` when it is a configured data container, else the first one (uploads must be valid sources)."""
    containers = settings.data_containers
    if not containers:
        raise ConfigurationError("no data container is configured (MLOPS_DATA_CONTAINERS): uploads are off")
    return UPLOAD_CONTAINER if UPLOAD_CONTAINER in containers else containers[0]


def upload_blob_name(sha256: str, name: str) -> str:
    """The content-addressed blob name of an upload."""
    return f"{UPLOAD_PREFIX}/{sha256}/{name}"


def store_upload(
    storage: Storage, name: str | None, data: bytes, container: str = UPLOAD_CONTAINER
) -> Upload:
    """Store ``data`` create-only at ``uploads/<sha256>/<name>``; an identical earlier upload is reused."""
    checked = validate_upload_name(name)
    if not data:
        raise ValidationError("the request body is empty: send the file's bytes", field="body")
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadTooLargeError(
            f"upload is {len(data)} bytes; the limit is {MAX_UPLOAD_BYTES} bytes", field="body"
        )
    digest = hashlib.sha256(data).hexdigest()
    blob = upload_blob_name(digest, checked)
    try:
        storage.blobs.put_bytes(container, blob, data, overwrite=False)
        created = True
    except AlreadyExistsError:
        created = False  # same name means same bytes: the earlier upload is this one
    return Upload(container, blob, digest, len(data), created)
