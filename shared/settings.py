"""The one typed settings object. The only module that reads the process environment.

Values come from the environment first and from ``local.settings.json`` ``Values`` second, the
precedence the Functions host uses (app settings arrive as environment variables on Azure).
Storage is either a connection string (Azurite, or an account key) in ``AzureWebJobsStorage``,
or identity-based: ``AzureWebJobsStorage__blobServiceUri`` / ``__queueServiceUri`` /
``__tableServiceUri`` (+ optional ``__clientId`` for a user-assigned identity), used with
``DefaultAzureCredential``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pydantic
from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from shared.errors import ConfigurationError

#: Well-known Azurite account (public, documented emulator credentials; not a secret).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
DEVELOPMENT_STORAGE = "UseDevelopmentStorage=true"


def azurite_connection_string(host: str, blob_port: int, queue_port: int, table_port: int) -> str:
    """A connection string for an Azurite listening on the given loopback ports."""
    return (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
        f"BlobEndpoint=http://{host}:{blob_port}/{AZURITE_ACCOUNT};"
        f"QueueEndpoint=http://{host}:{queue_port}/{AZURITE_ACCOUNT};"
        f"TableEndpoint=http://{host}:{table_port}/{AZURITE_ACCOUNT};"
    )


def read_local_settings(app_dir: Path | None) -> dict[str, str]:
    """``Values`` of ``<app_dir>/local.settings.json`` as strings ({} when the file is absent)."""
    if app_dir is None:
        return {}
    path = Path(app_dir) / "local.settings.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigurationError(f"{path} is not valid JSON: {exc}") from exc
    values = data.get("Values", {}) if isinstance(data, dict) else {}
    if not isinstance(values, dict):
        raise ConfigurationError(f"{path}: 'Values' must be an object")
    return {str(k): "" if v is None else str(v) for k, v in values.items()}


def process_environment() -> dict[str, str]:
    """A copy of the process environment (the only place it is read)."""
    return dict(os.environ)


#: The only variables of the host's environment a training script inherits (locale, PATH, GPUs).
_JOB_INHERITED = ("PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "CUDA_VISIBLE_DEVICES")


def job_environment(work_dir: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The minimal environment of a training script: no storage keys, no host settings or key store.

    Only PATH/locale/GPU basics are inherited; HOME and TMPDIR point into the job's own working
    folder; ``extra`` adds the documented MLOPS_DATA_DIR/OUTPUT_DIR/CHECKPOINT_DIR.
    """
    env = {name: os.environ[name] for name in _JOB_INHERITED if name in os.environ}
    env.setdefault("PATH", os.defpath)
    env.update(
        {"HOME": str(work_dir), "TMPDIR": str(work_dir), "PYTHONNOUSERSITE": "1", "PYTHONUNBUFFERED": "1"}
    )
    env.update(extra or {})
    return env


#: Containers of the app itself: never a data source, never a data container in the settings.
INTERNAL_CONTAINERS = frozenset(
    {
        "datasets",
        "quarantine",
        "profiles",
        "models",
        "checkpoints",
        "reports",
        "inference-logs",
        "predictions",
        "feedback",
        "table-spill",
        "trainer-scripts",
        "training-jobs",
        "deploymentpackage",
    }
)
# The Functions host's and the Durable task hub's containers (azure-webjobs-hosts, <hub>-leases, ...).
_INTERNAL_PREFIXES = ("azure-webjobs", "mlopshub", "testhubname")
_INTERNAL_SUFFIXES = ("-leases", "-largemessages", "-applease")


def is_internal_container(name: str) -> bool:
    """True for a container the app, the Functions host or the task hub uses for itself."""
    return (
        name in INTERNAL_CONTAINERS
        or name.startswith(_INTERNAL_PREFIXES)
        or name.endswith(_INTERNAL_SUFFIXES)
    )


def merged_values(app_dir: Path | None = None, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """local.settings.json Values overlaid by the environment (environment wins)."""
    values = read_local_settings(app_dir)
    values.update(process_environment() if environ is None else environ)
    return values


class Settings(BaseSettings):
    """Everything the app and its tools configure, from environment + local.settings.json."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", populate_by_name=True)

    storage_connection_string: str | None = Field(
        default=None,
        validation_alias=AliasChoices("AzureWebJobsStorage", "storage_connection_string"),
        description="Connection string of the storage account (Azurite locally).",
    )
    blob_service_uri: str | None = Field(
        default=None,
        validation_alias=AliasChoices("AzureWebJobsStorage__blobServiceUri", "blob_service_uri"),
        description="Blob endpoint for identity-based connections.",
    )
    queue_service_uri: str | None = Field(
        default=None,
        validation_alias=AliasChoices("AzureWebJobsStorage__queueServiceUri", "queue_service_uri"),
        description="Queue endpoint for identity-based connections.",
    )
    table_service_uri: str | None = Field(
        default=None,
        validation_alias=AliasChoices("AzureWebJobsStorage__tableServiceUri", "table_service_uri"),
        description="Table endpoint for identity-based connections.",
    )
    storage_client_id: str | None = Field(
        default=None,
        validation_alias=AliasChoices("AzureWebJobsStorage__clientId", "storage_client_id"),
        description="Client id of a user-assigned managed identity (system identity when unset).",
    )
    storage_timeout_s: float = Field(
        default=20.0,
        validation_alias=AliasChoices("MLOPS_STORAGE_TIMEOUT_S", "storage_timeout_s"),
        description="Connect/read timeout for storage calls, seconds.",
    )
    storage_retries: int = Field(
        default=3,
        validation_alias=AliasChoices("MLOPS_STORAGE_RETRIES", "storage_retries"),
        description="How many times the SDK retries a failed storage call.",
    )
    azureml_subscription_id: str | None = Field(
        default=None,
        validation_alias=AliasChoices("MLOPS_AZUREML_SUBSCRIPTION_ID", "azureml_subscription_id"),
        description="Subscription of the Azure ML workspace used by `azureml` compute.",
    )
    azureml_resource_group: str | None = Field(
        default=None,
        validation_alias=AliasChoices("MLOPS_AZUREML_RESOURCE_GROUP", "azureml_resource_group"),
        description="Resource group of the Azure ML workspace.",
    )
    azureml_workspace: str | None = Field(
        default=None,
        validation_alias=AliasChoices("MLOPS_AZUREML_WORKSPACE", "azureml_workspace"),
        description="Azure ML workspace name.",
    )
    azureml_compute: str | None = Field(
        default=None,
        validation_alias=AliasChoices("MLOPS_AZUREML_COMPUTE", "azureml_compute"),
        description="Default Azure ML compute cluster (GPU, min 0 nodes).",
    )
    work_dir: str | None = Field(
        default=None,
        validation_alias=AliasChoices("MLOPS_WORK_DIR", "work_dir"),
        description="Local folder for `local` compute jobs (default: <temp>/mlops-work).",
    )
    inference_sample_rate: float = Field(
        default=1.0,
        validation_alias=AliasChoices("MLOPS_INFERENCE_SAMPLE_RATE", "inference_sample_rate"),
        description="Share of scored rows appended to the inference log (drift input).",
    )
    azurite_dir: str | None = Field(
        default=None,
        validation_alias=AliasChoices("MLOPS_AZURITE_DIR", "azurite_dir"),
        description="Folder holding the project's npm-installed Azurite (default .tools/azurite).",
    )
    data_roots_setting: str = Field(
        default="",
        validation_alias=AliasChoices("MLOPS_DATA_ROOTS", "data_roots"),
        description="Folders local file sources may lie under (os.pathsep-separated; empty: none).",
    )
    data_containers_setting: str = Field(
        default="data",
        validation_alias=AliasChoices("MLOPS_DATA_CONTAINERS", "data_containers"),
        description="Blob containers blob sources may name (comma-separated; never an internal one).",
    )
    azure_site_name: str | None = Field(
        default=None,
        validation_alias=AliasChoices("WEBSITE_SITE_NAME", "WEBSITE_INSTANCE_ID", "azure_site_name"),
        description="Set by App Service/Functions on Azure (read-only there): the app runs on Azure.",
    )

    @field_validator("data_containers_setting")
    @classmethod
    def _no_internal_data_container(cls, value: str) -> str:
        for name in (part.strip() for part in value.split(",")):
            if name and is_internal_container(name):
                raise ValueError(f"{name!r} is an internal container of the app and cannot hold user data")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment first, then init kwargs (which carry local.settings.json Values).
        return (env_settings, init_settings)

    @property
    def uses_identity(self) -> bool:
        """True when storage is reached with DefaultAzureCredential rather than a connection string."""
        return not self.storage_connection_string and bool(
            self.blob_service_uri or self.queue_service_uri or self.table_service_uri
        )

    @property
    def data_roots(self) -> tuple[Path, ...]:
        """The resolved folders local file sources may lie under (none unless configured)."""
        parts = (p.strip() for p in self.data_roots_setting.split(os.pathsep))
        return tuple(Path(p).expanduser().resolve() for p in parts if p)

    @property
    def data_containers(self) -> tuple[str, ...]:
        """The blob containers blob sources may name."""
        return tuple(dict.fromkeys(p.strip() for p in self.data_containers_setting.split(",") if p.strip()))

    @property
    def on_azure(self) -> bool:
        """True inside an Azure Function App (the platform sets WEBSITE_SITE_NAME/WEBSITE_INSTANCE_ID)."""
        return bool(self.azure_site_name)

    @property
    def has_storage(self) -> bool:
        """True when some storage connection is configured."""
        return bool(self.storage_connection_string) or self.uses_identity

    def require_storage(self) -> None:
        """Raise ConfigurationError unless a complete storage connection is configured."""
        if self.storage_connection_string:
            return
        missing = [
            name
            for name, value in (
                ("AzureWebJobsStorage__blobServiceUri", self.blob_service_uri),
                ("AzureWebJobsStorage__queueServiceUri", self.queue_service_uri),
                ("AzureWebJobsStorage__tableServiceUri", self.table_service_uri),
            )
            if not value
        ]
        if len(missing) == 3:
            raise ConfigurationError(
                "no storage configured: set AzureWebJobsStorage (connection string) or "
                "AzureWebJobsStorage__blobServiceUri/__queueServiceUri/__tableServiceUri"
            )
        if missing:
            raise ConfigurationError(f"identity-based storage is incomplete: set {', '.join(missing)}")


def load_settings(app_dir: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from the environment and ``<app_dir>/local.settings.json`` (environment wins).

    ``environ`` replaces the process environment (tests, child processes given their own).
    """
    local: dict[str, Any] = dict(read_local_settings(app_dir))
    try:
        if environ is not None:
            local.update(environ)
            return _IsolatedSettings(**local)  # the real process environment is not read
        return Settings(**local)
    except pydantic.ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in err["loc"]) or "settings"  # the alias it was read from
        message = str(err["msg"]).removeprefix("Value error, ")
        raise ConfigurationError(f"setting {where}: {message}") from None


class _IsolatedSettings(Settings):
    """Settings that ignore the process environment (for an explicit ``environ``)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)
