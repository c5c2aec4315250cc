"""The price table: list prices (USD) for what the app consumes, overridable per deployment.

Figures are public pay-as-you-go list prices (East US, Linux) as published for 2025; they are
estimates for budgeting, not invoices. Override any of them with a JSON/YAML mapping of the same
shape (``PriceTable.model_validate({...})``).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

#: USD per hour of one node, by compute instance type.
DEFAULT_INSTANCE_PRICES: dict[str, float] = {
    "local": 0.0,
    "Standard_DS3_v2": 0.229,  # 4 vCPU, 14 GiB (CPU)
    "Standard_D4s_v5": 0.192,  # 4 vCPU, 16 GiB (CPU)
    "Standard_NC4as_T4_v3": 0.526,  # 1x T4 (GPU)
    "Standard_NC6s_v3": 3.06,  # 1x V100 (GPU)
    "Standard_NC24ads_A100_v4": 3.673,  # 1x A100 80 GB (GPU)
    "Standard_ND96isr_H100_v5": 98.32,  # 8x H100 (GPU)
}


class PriceTable(BaseModel):
    """Unit prices used by the cost report."""

    instance_per_hour: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_INSTANCE_PRICES),
        description="USD per node-hour by instance type.",
    )
    function_execution_per_million: float = Field(
        default=0.40, ge=0, description="USD per million function executions (Flex Consumption on-demand)."
    )
    function_gb_second: float = Field(
        default=0.000026,
        ge=0,
        description="USD per GB-second of function execution (Flex Consumption on-demand).",
    )
    function_memory_gb: float = Field(
        default=2.0, gt=0, description="Instance memory the GB-seconds are counted at."
    )
    storage_gb_month: float = Field(
        default=0.0184, ge=0, description="USD per GB-month of blob storage (Hot, LRS)."
    )
    low_priority_discount: float = Field(
        default=0.8,
        ge=0,
        lt=1,
        description=(
            "Fraction off the dedicated price for low-priority (spot) nodes when the type has no "
            "entry in low_priority_per_hour. Azure advertises up to 80% off; the real figure varies "
            "by size and region, so set per-type prices for budgeting that matters."
        ),
    )
    low_priority_per_hour: dict[str, float] = Field(
        default_factory=dict, description="USD per low-priority node-hour by instance type (overrides)."
    )

    def instance_price(self, instance_type: str, low_priority: bool = False) -> float:
        """USD per node-hour for an instance type (dedicated, or low priority); unknown types are an
        error, never silently free."""
        if low_priority and instance_type in self.low_priority_per_hour:
            return self.low_priority_per_hour[instance_type]
        try:
            dedicated = self.instance_per_hour[instance_type]
            return round(dedicated * (1 - self.low_priority_discount), 6) if low_priority else dedicated
        except KeyError:
            from shared.errors import ValidationError

            known = ", ".join(sorted(self.instance_per_hour))
            raise ValidationError(
                f"no price for instance type {instance_type!r} (known: {known})", field="instance_type"
            ) from None
