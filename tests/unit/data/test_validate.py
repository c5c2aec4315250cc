"""Validation: bad inputs are quarantined or rejected with reasons, and the counts always add up."""

from __future__ import annotations

import io

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.data.ingest import IngestResult, ingest, ingest_bundled
from shared.data.schema import BaselineSchema
from shared.data.validate import ValidationResult, validate_dataset, validate_frame
from shared.errors import DataRejectedError
from shared.pipeline.sections import ColumnExpectation, Expectations
from shared.pipeline.spec import PipelineSpec, load_spec

GOOD = "x,colour,y\n" + "".join(f"{i / 10},{'red' if i % 2 else 'blue'},{i % 2}\n" for i in range(40))


def _spec(threshold: float = 0.5, **expect: ColumnExpectation) -> PipelineSpec:
    return load_spec(
        {
            "name": "tt",
            "source": "data/t.csv",
            "target": "y",
            "task": "classification",
            "reject_threshold": threshold,
            "trainer": {"kind": "sklearn", "model": "logistic_regression"},
            "expectations": {"columns": {k: v.model_dump() for k, v in expect.items()}},
        }
    )


def _baseline() -> BaselineSchema:
    first = validate_dataset(ingest(GOOD.encode(), format="csv"), _spec())
    assert first.baseline_inferred and not first.rejected
    return first.baseline


def _check(
    data: bytes, spec: PipelineSpec, baseline: BaselineSchema | None
) -> tuple[IngestResult, ValidationResult]:
    ingested = ingest(data, format="csv", overrides=baseline.dtypes() if baseline else None)
    result = validate_dataset(ingested, spec, baseline)
    assert result.rows_accepted + result.rows_quarantined == result.rows_read == ingested.rows_read
    assert result.accepted.height == result.rows_accepted
    assert result.quarantine_rows.height == result.rows_quarantined
    return ingested, result


def _reasons_by_row(result: ValidationResult) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for row, column, reason in result.quarantine.select("row", "column", "reason").iter_rows():
        out.setdefault(row, set()).add(f"{column}: {reason}")
    return out


def test_first_run_infers_a_baseline_that_round_trips_as_json() -> None:
    baseline = _baseline()
    assert baseline.columns["x"].type == "float" and baseline.columns["x"].min == 0.0
    assert baseline.columns["colour"].categories == ["blue", "red"]
    assert baseline.columns["y"].nullable is False
    assert BaselineSchema.from_json(baseline.to_json()) == baseline


def test_string_in_numeric_column_is_quarantined_as_a_type_failure() -> None:
    data = GOOD.replace("0.3,red,1", "abc,red,1").encode()
    _, result = _check(data, _spec(), _baseline())
    assert _reasons_by_row(result) == {4: {"x: type: not a valid float"}}
    assert result.quarantine.filter(pl.col("row") == 4)["value"].to_list() == ["abc"]


def test_mostly_text_column_against_numeric_baseline_fails_row_by_row() -> None:
    frame = pl.DataFrame({"x": ["1.0", "oops", "2.5"], "colour": ["red", "red", "blue"], "y": [1, 0, 1]})
    result = validate_frame(
        frame, target="y", expectations=Expectations(), reject_threshold=0.5, baseline=_baseline()
    )
    assert result.quarantine.select("row", "reason").rows() == [(2, "type: not a valid float")]
    assert result.accepted.schema["x"] == pl.Float64


def test_missing_target_values_are_quarantined() -> None:
    data = GOOD.replace("0.5,red,1", "0.5,red,").replace("0.7,red,1", "0.7,red,NA").encode()
    _, result = _check(data, _spec(), _baseline())
    assert _reasons_by_row(result) == {6: {"y: missing target"}, 8: {"y: missing target"}}


def test_unparseable_target_is_one_type_failure_not_also_missing() -> None:
    data = GOOD.replace("0.5,red,1", "0.5,red,maybe").encode()
    _, result = _check(data, _spec(), _baseline())
    assert _reasons_by_row(result) == {6: {"y: type: not a valid int"}}


def test_extra_columns_are_recorded_and_dropped() -> None:
    lines = GOOD.splitlines()
    data = "\n".join([lines[0] + ",extra"] + [line + ",1" for line in lines[1:]]).encode() + b"\n"
    _, result = _check(data, _spec(), _baseline())
    assert not result.rejected
    assert result.notes == ["extra columns not in the baseline, dropped: ['extra']"]
    assert "extra" not in result.accepted.columns


def test_missing_columns_reject_the_dataset_naming_them() -> None:
    data = "".join(",".join(line.split(",")[1:]) + "\n" for line in GOOD.splitlines()).encode()
    _, result = _check(data, _spec(), _baseline())
    assert result.rejected
    assert result.reasons == ["missing columns: ['x']"]
    with pytest.raises(DataRejectedError, match="missing columns"):
        result.raise_if_rejected()


def test_missing_target_column_rejects_even_on_first_run() -> None:
    _, result = _check(b"x,colour\n1,red\n", _spec(), None)
    assert result.rejected and "missing columns: ['y']" in result.reasons


def test_non_utf8_rows_are_quarantined_with_row_numbers() -> None:
    data = GOOD.encode().replace(b"0.2,blue", b"0.2,bl\xe9ue")
    _, result = _check(data, _spec(), _baseline())
    assert list(_reasons_by_row(result)) == [3]
    assert result.quarantine["reason"][0].startswith("unreadable: not valid UTF-8")
    assert result.quarantine["column"][0] is None


def test_empty_file_is_rejected_with_a_reason() -> None:
    _, result = _check(b"", _spec(), None)
    assert result.rejected and result.rows_read == 0
    assert "empty file (0 bytes)" in result.reasons


def test_header_only_file_is_rejected_with_a_reason() -> None:
    _, result = _check(b"x,colour,y\n", _spec(), _baseline())
    assert result.rejected and result.rows_read == result.rows_accepted == 0
    assert "no data rows (header only)" in result.reasons


def test_out_of_range_against_the_baseline_but_new_categories_and_nulls_are_data() -> None:
    # The model imputes nulls and one-hot encodes categories (unseen ones scored), so a retrain on
    # fresh data keeps rows with a new category or a null where the baseline had none.
    data = (
        GOOD.replace("0.1,red,1", "99.0,red,1").replace("0.2,blue,0", "0.2,green,0").replace("0.3,", ",")
    ).encode()
    _, result = _check(data, _spec(), _baseline())
    assert _reasons_by_row(result) == {2: {"x: range: outside baseline [-0.39, 4.29]"}}


def test_declared_expectations() -> None:
    data = (
        b"code,n,y\n"
        b"AB1,1,1\n"  # fine
        b"zz,2,0\n"  # regex
        b"AB2,50,1\n"  # max
        b"AB1,3,0\n"  # repeat of a unique value
        b"AB4,,1\n"  # not_null
        b"AB5,4,7\n"  # target not allowed
    )
    spec = _spec(
        threshold=1.0,
        code=ColumnExpectation(regex=r"[A-Z]{2}\d", unique=True),
        n=ColumnExpectation(not_null=True, min=0, max=10),
        y=ColumnExpectation(allowed=[0, 1]),
    )
    _, result = _check(data, spec, None)
    assert _reasons_by_row(result) == {
        2: {"code: expectation: regex"},
        3: {"n: expectation: max 10"},
        4: {"code: expectation: unique (repeat)"},
        5: {"n: expectation: not_null"},
        6: {"y: expectation: allowed values"},
    }
    assert result.rows_accepted == 1


def test_one_row_with_several_failures_counts_once() -> None:
    data = b"a,y\n,\n1,1\n"
    spec = _spec(threshold=1.0, a=ColumnExpectation(not_null=True))
    _, result = _check(data, spec, None)
    assert result.quarantine.height == 2 and result.rows_quarantined == 1
    assert result.quarantine_rows.row(0, named=True) == {
        "row": 1,
        "failures": 2,
        "reasons": "a: expectation: not_null; y: missing target",
    }


@pytest.mark.parametrize(("bad", "rejected"), [(0, False), (2, False), (3, True)])
def test_reject_threshold_is_exclusive(bad: int, rejected: bool) -> None:
    rows = [f"{i},{'' if i < bad else 1}" for i in range(40)]
    data = ("a,y\n" + "\n".join(rows) + "\n").encode()
    _, result = _check(data, _spec(threshold=0.05), None)
    assert result.rows_quarantined == bad
    assert result.reject_rate == pytest.approx(bad / 40)
    assert result.rejected is rejected
    if rejected:
        assert result.reasons[0].startswith("reject rate 7.50% is above the threshold 5.00%")


def test_min_rows_rejects_small_datasets() -> None:
    spec = load_spec(
        {
            "name": "tt",
            "source": "data/t.csv",
            "target": "y",
            "task": "classification",
            "trainer": {"kind": "sklearn", "model": "logistic_regression"},
            "expectations": {"min_rows": 100},
        }
    )
    _, result = _check(GOOD.encode(), spec, None)
    assert result.rejected and result.reasons == ["40 rows accepted, fewer than min_rows 100"]


def test_quarantine_serialises_to_csv_and_parquet() -> None:
    data = GOOD.replace("0.3,red,1", "abc,red,1").encode()
    _, result = _check(data, _spec(), _baseline())
    from_csv = pl.read_csv(io.BytesIO(result.quarantine_csv()))
    from_parquet = pl.read_parquet(io.BytesIO(result.quarantine_parquet()))
    assert from_csv["row"].to_list() == from_parquet["row"].to_list() == [4]
    dumped = result.model_dump()
    assert "quarantine" not in dumped and dumped["failure_counts"] == {"x: type: not a valid float": 1}


def test_bundled_example_passes_its_own_spec() -> None:
    spec = load_spec(
        (__import__("pathlib").Path(__file__).parents[3] / "examples/breast_cancer.yaml").read_text()
    )
    ingested = ingest_bundled("breast_cancer", overrides=spec.schema_overrides)
    first = validate_dataset(ingested, spec)
    again = validate_dataset(
        ingest_bundled("breast_cancer", overrides=first.baseline.dtypes()), spec, first.baseline
    )
    assert not first.rejected and not again.rejected
    assert again.rows_accepted == 569


@settings(max_examples=40, deadline=None)
@given(
    cells=st.lists(
        st.tuples(
            st.sampled_from(["1.5", "", "x", "7", "-3", "NA"]), st.sampled_from(["0", "1", "", "2", "z"])
        ),
        max_size=30,
    ),
    junk=st.lists(st.integers(0, 29), max_size=3),
)
def test_counts_always_add_up(cells: list[tuple[str, str]], junk: list[int]) -> None:
    lines = [f"{a},{y}".encode() for a, y in cells]
    for i in junk:
        if i < len(lines):
            lines[i] = b"\xff" + lines[i]
    data = b"a,y\n" + b"\n".join(lines) + (b"\n" if lines else b"")
    spec = _spec(threshold=0.2, y=ColumnExpectation(allowed=[0, 1]))
    _check(data, spec, None)
    _check(
        data, spec, BaselineSchema.model_validate({"columns": {"a": {"type": "float", "nullable": False}}})
    )


def _expect_spec(**expectations: object) -> PipelineSpec:
    data = _spec().model_dump(mode="json")
    data["expectations"] = {**data["expectations"], **expectations}
    return PipelineSpec.model_validate(data)


@pytest.mark.parametrize("text", ["inf", "-inf", "1e999", "-1e999", "nan", "NaN", "Infinity"])
def test_non_finite_numbers_are_quarantined_unless_allowed(text: str) -> None:
    data = GOOD.replace("\n1.0,", f"\n{text},", 1).encode()
    _, result = _check(data, _spec(), None)
    assert result.failure_counts == {"x: non-finite number": 1}
    assert result.quarantine["row"].to_list() == [11]
    allowed = _expect_spec(allow_non_finite=True)
    _, kept = _check(data, allowed, None)
    assert kept.rows_quarantined == 0
    assert kept.baseline.columns["x"].min == 0.0 and kept.baseline.columns["x"].max == 3.9  # finite only


def test_min_and_max_rules_refuse_nan_and_infinities_beyond_the_bound() -> None:
    rows = ["inf", "-inf", "nan", "0.5"]
    data = ("x,colour,y\n" + "".join(f"{v},red,{i % 2}\n" for i, v in enumerate(rows * 10))).encode()
    spec = _expect_spec(allow_non_finite=True, columns={"x": {"min": 0, "max": 1}})
    _, result = _check(data, spec, None)
    assert result.failure_counts == {"x: expectation: max 1": 20, "x: expectation: min 0": 20}
    assert result.accepted["x"].to_list() == [0.5] * 10


def test_the_baseline_range_check_leaves_non_finite_values_to_their_own_rule() -> None:
    baseline = _baseline()
    data = b"x,colour,y\ninf,red,1\n0.5,blue,0\n99,red,1\n"
    _, result = _check(data, _expect_spec(allow_non_finite=True), baseline)
    assert list(result.failure_counts) == ["x: range: outside baseline [-0.39, 4.29]"]
    assert result.quarantine["row"].to_list() == [3]


def test_more_columns_than_max_columns_reject_the_dataset_before_row_checks() -> None:
    header = ",".join(f"c{i}" for i in range(30)) + ",y\n"
    data = (header + "".join(",".join(["1"] * 30) + f",{i % 2}\n" for i in range(5)) + "a,b\xff\n").encode(
        "latin-1"
    )
    _, result = _check(data, _expect_spec(max_columns=20), None)
    assert result.rejected and result.reasons == ["31 columns, more than max_columns 20"]
    assert (result.rows_read, result.rows_quarantined, result.rows_accepted) == (6, 6, 0)
    assert result.failure_counts["*: dataset: 31 columns, more than max_columns 20"] == 5
    assert result.quarantine_rows.height == 6


def test_ingest_refuses_a_header_wider_than_its_ceiling_without_reading_rows() -> None:
    data = ("a,b,c,d\n" + "1,2,3,4\n" * 10).encode()
    result = ingest(data, format="csv", max_columns=3)
    assert result.reasons == ["4 columns, more than max_columns 3"]
    assert result.rows_read == 0 and result.frame.height == 0
    assert validate_dataset(result, _spec()).rejected
