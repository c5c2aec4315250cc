"""The spec fields' NCRONTAB check (shared.ncrontab): six fields, valid, and firing some day."""

from __future__ import annotations

import pytest

from shared.ncrontab import check_ncrontab


@pytest.mark.parametrize(
    "expression", ["0 */5 * * * *", "0 0 3 * * MON", "30 0 2 1-15/2 jan,jul *", "0 0 0 * * 0-6"]
)
def test_valid_expressions_pass(expression: str) -> None:
    assert check_ncrontab(expression) == expression


@pytest.mark.parametrize(
    "expression",
    [
        "* * * * *",
        "60 * * * * *",
        "0 0 25 * * *",
        "0 0 * 0 * *",
        "0 */0 * * * *",
        "0 5-1 * * * *",
        "x * * * * *",
        "0 0 0 31 2 *",  # parses, but February never has a 31st
    ],
)
def test_invalid_expressions_raise(expression: str) -> None:
    with pytest.raises(ValueError):
        check_ncrontab(expression)
