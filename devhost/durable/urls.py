"""URLs the durable client binding and the management API hand out."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

MANAGEMENT_PREFIX = "/runtime/webhooks/durabletask"
RPC_PREFIX = "/_durable_rpc"
INSTANCE_PLACEHOLDER = "INSTANCEID"


@dataclass(frozen=True)
class UrlBuilder:
    """Builds management URLs for one host base URL, task hub and system key."""

    base_url: str
    hub: str
    key: str
    connection: str = "Storage"

    @property
    def query(self) -> str:
        """``taskHub=...&connection=...&code=...``."""
        return f"taskHub={self.hub}&connection={self.connection}&code={self.key}"

    @property
    def rpc_base_url(self) -> str:
        """The SDK client's ``rpcBaseUrl`` (trailing slash: the SDK appends paths)."""
        return f"{self.base_url}{RPC_PREFIX}/"

    def management_urls(self, instance_id: str, *, encode: bool = True) -> dict[str, str]:
        """The ``{id, statusQueryGetUri, ...}`` payload for one instance."""
        segment = quote(instance_id, safe="") if encode else instance_id
        prefix = f"{self.base_url}{MANAGEMENT_PREFIX}/instances/{segment}"
        q = self.query
        return {
            "id": instance_id,
            "statusQueryGetUri": f"{prefix}?{q}",
            "sendEventPostUri": f"{prefix}/raiseEvent/{{eventName}}?{q}",
            "terminatePostUri": f"{prefix}/terminate?reason={{text}}&{q}",
            "rewindPostUri": f"{prefix}/rewind?reason={{text}}&{q}",
            "purgeHistoryDeleteUri": f"{prefix}?{q}",
            "restartPostUri": f"{prefix}/restart?{q}",
            "suspendPostUri": f"{prefix}/suspend?reason={{text}}&{q}",
            "resumePostUri": f"{prefix}/resume?reason={{text}}&{q}",
        }

    def binding(self) -> dict[str, object]:
        """The ``durableClient`` binding payload (``DurableOrchestrationBindings``)."""
        root = f"{self.base_url}{MANAGEMENT_PREFIX}"
        create = f"{root}/orchestrators/{{functionName}}[/{{instanceId}}]"
        return {
            "taskHubName": self.hub,
            "creationUrls": {
                "createNewInstancePostUri": f"{create}?code={self.key}",
                "createAndWaitOnNewInstancePostUri": (
                    f"{create}?timeout={{timeoutInSeconds}}&pollingInterval={{intervalInSeconds}}&code={self.key}"
                ),
            },
            "managementUrls": self.management_urls(INSTANCE_PLACEHOLDER, encode=False),
            "baseUrl": root,
            "requiredQueryStringParameters": f"code={self.key}",
            "rpcBaseUrl": self.rpc_base_url,
        }
