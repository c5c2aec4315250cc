"""Every setting the code reads on Azure is provisioned by infra/, and infra sets nothing unused."""

from __future__ import annotations

import re
from pathlib import Path

from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[2]

# Read by the code but only meaningful locally (never provisioned on Azure).
LOCAL_ONLY = {"AzureWebJobsStorage", "MLOPS_AZURITE_DIR", "MLOPS_WORK_DIR"}
# Optional tuning knobs with safe defaults; provisioning them is allowed, not required.
OPTIONAL = {
    "MLOPS_STORAGE_TIMEOUT_S",
    "MLOPS_STORAGE_RETRIES",
    "AzureWebJobsStorage__clientId",
    "MLOPS_INFERENCE_SAMPLE_RATE",
}
# Set by the App Service platform itself on Azure (read-only there); never provisioned.
PLATFORM = {"WEBSITE_SITE_NAME"}
# Read by the Functions host / SDKs rather than by our code.
HOST_SETTINGS = {
    "AzureWebJobsStorage__credential",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
}


def _code_settings() -> set[str]:
    names = set()
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        choices = getattr(alias, "choices", [alias])
        names.add(str(choices[0]))
    return names


def _provisioned() -> set[str]:
    text = (ROOT / "infra" / "app" / "api.bicep").read_text()
    return set(re.findall(r"\{\s*name:\s*'([^']+)'\s*,\s*value:", text))


def test_every_setting_the_code_reads_is_provisioned() -> None:
    required = _code_settings() - LOCAL_ONLY - OPTIONAL - PLATFORM
    assert required - _provisioned() == set()


def test_infra_provisions_nothing_the_code_or_host_does_not_read() -> None:
    assert _provisioned() - _code_settings() - HOST_SETTINGS == set()


def test_storage_is_identity_based_with_shared_keys_disabled() -> None:
    storage = (ROOT / "infra" / "app" / "storage.bicep").read_text()
    assert "allowSharedKeyAccess: false" in storage
    assert "AzureWebJobsStorage'" not in (ROOT / "infra" / "app" / "api.bicep").read_text()


def test_all_role_assignments_live_in_rbac_bicep() -> None:
    for path in (ROOT / "infra").rglob("*.bicep"):
        if path.name != "rbac.bicep":
            assert "roleAssignments" not in path.read_text(), path
