"""What the terminal shows: step changes, the approval hint, whole run ids in any width."""

from __future__ import annotations

import pytest
from rich.console import Console

from cli import show

RUN_ID = "a-long-pipeline-name-20261130110247-18939ab0"


@pytest.fixture
def screen(monkeypatch: pytest.MonkeyPatch) -> Console:
    console = Console(width=60, record=True, highlight=False)
    monkeypatch.setattr(show, "console", console)
    return console


def test_step_printer_prints_changes_once_and_the_approval_hint(screen: Console) -> None:
    printer = show.StepPrinter()
    record = {"run_id": RUN_ID, "status": "Running", "steps": [{"name": "train", "status": "Running"}]}
    printer(record)
    printer(record)
    printer({**record, "status": "AwaitingApproval"})
    text = screen.export_text()
    assert text.count("train") == 1
    assert f"waiting for approval: mlops approve {RUN_ID}" in text.replace("\n", "")


def test_runs_keep_whole_ids_and_reasons_in_a_narrow_terminal(screen: Console) -> None:
    show.runs_table([{"run_id": RUN_ID, "status": "Failed", "error": "train failed: boom"}])
    text = screen.export_text()
    assert RUN_ID in text and "reason: train failed: boom" in text


def test_summary_names_outcome_reason_and_counts(screen: Console) -> None:
    show.summary(
        {
            "run_id": RUN_ID,
            "status": "DataRejected",
            "details": {"validation": {"rows_read": 9, "rows_quarantined": 4, "reasons": ["44% rows bad"]}},
        }
    )
    text = screen.export_text()
    assert "DataRejected" in text and "44% rows bad" in text and "rows quarantined" in text


def test_status_lists_features_with_kinds_and_dropped_columns_with_reasons(screen: Console) -> None:
    screen.width = 140
    roles = {
        "used": {"plan": "category", "signup_date": "datetime", "age": "numeric"},
        "dropped": {"customer_id": "id-like: a distinct integer in every row"},
    }
    show.features_table({"run_id": RUN_ID, "details": {"features": roles}})
    lines = screen.export_text().splitlines()
    assert "columns: 3 features, 1 dropped" in lines[0]
    text = screen.export_text()
    for name, kind in roles["used"].items():
        assert any(name in line and "feature" in line and kind in line for line in lines), name
    assert any(
        "customer_id" in line and "dropped" in line and "id-like: a distinct integer in every row" in line
        for line in lines
    ), text


def test_status_without_column_roles_prints_no_columns_table(screen: Console) -> None:
    show.features_table({"run_id": RUN_ID, "details": {}})
    show.features_table({"run_id": RUN_ID})
    assert screen.export_text() == ""
