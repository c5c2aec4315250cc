"""Generate the mixed-type churn table of ``examples/churn.yaml`` (no download).

``python examples/churn_data.py [--rows 5000] [--seed 7] [--out examples/data/churn.csv]``

Columns: an id (dropped as id-like), a signup date, three categoricals, six numbers, 1-5 %
missing values in seven columns, and a ``churned`` target whose odds depend on the categoricals,
the date and the numbers.
"""

from __future__ import annotations

import argparse
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

PLANS = {"basic": 0.6, "standard": 0.0, "premium": -0.7}
REGIONS = {"north": 0.2, "south": -0.1, "east": 0.0, "west": 0.35, "central": -0.25, "islands": 0.5}
PAYMENTS = {"card": -0.2, "bank_transfer": -0.4, "invoice": 0.3, "voucher": 0.9}


def churn_frame(rows: int = 5000, seed: int = 7) -> pl.DataFrame:
    """The churn table as a frame (nulls where values are missing, dates as ISO text)."""
    rng = np.random.default_rng(seed)
    plan = rng.choice(list(PLANS), rows, p=[0.45, 0.35, 0.2])
    region = rng.choice(list(REGIONS), rows)
    payment = rng.choice(list(PAYMENTS), rows, p=[0.4, 0.3, 0.2, 0.1])
    signup_days = rng.integers(0, 5 * 365, rows)
    signup = [date(2020, 1, 1) + timedelta(days=int(d)) for d in signup_days]
    tenure = rng.integers(1, 72, rows)
    monthly = np.round(rng.normal(70, 20, rows).clip(10, 200), 2)
    calls = rng.poisson(1.5, rows)
    usage = np.round(rng.gamma(2.0, 8.0, rows), 1)
    age = rng.integers(18, 80, rows)
    discount = np.round(rng.uniform(0, 0.3, rows), 3)
    logit = (
        -0.8
        + np.array([PLANS[p] for p in plan])
        + np.array([REGIONS[r] for r in region])
        + np.array([PAYMENTS[p] for p in payment])
        - 0.03 * tenure
        + 0.015 * (monthly - 70)
        + 0.35 * calls
        - 0.02 * usage
        + 0.5 * (signup_days > 4 * 365)  # recent sign-ups churn more
        - 2.0 * discount
    )
    churned = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    frame = pl.DataFrame(
        {
            "customer_id": [f"C{i:06d}" for i in range(1, rows + 1)],
            "signup_date": [d.isoformat() for d in signup],
            "plan": plan,
            "region": region,
            "payment_method": payment,
            "tenure_months": tenure,
            "monthly_charges": monthly,
            "support_calls": calls,
            "data_usage_gb": usage,
            "age": age,
            "discount": discount,
            "churned": churned,
        }
    )
    # 1-5 % missing values in seven columns (never in the id or the target).
    missing = {
        "signup_date": 0.02,
        "plan": 0.03,
        "region": 0.01,
        "payment_method": 0.05,
        "monthly_charges": 0.04,
        "support_calls": 0.02,
        "data_usage_gb": 0.05,
    }
    return frame.with_columns(
        pl.when(pl.Series(rng.random(rows) < share)).then(None).otherwise(pl.col(name)).alias(name)
        for name, share in missing.items()
    )


def main() -> None:
    """Write the table as CSV."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "data" / "churn.csv")
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    churn_frame(args.rows, args.seed).write_csv(args.out)
    print(f"wrote {args.rows} rows to {args.out}")


if __name__ == "__main__":
    main()
