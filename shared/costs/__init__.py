"""Cost accounting: price table, per-run / per-model / per-day costs, budget alerts, reports."""
