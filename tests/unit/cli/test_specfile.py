"""Spec files on the client: one-line YAML errors, local sources found relative to the spec."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.specfile import SpecFileError, load_spec_file, local_source, upload_name, with_source


def test_yaml_error_is_one_line_with_the_line_number(tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text("name: demo\nsource: data.csv\ntarget: [label\ntask: classification\n")
    with pytest.raises(SpecFileError) as caught:
        load_spec_file(spec)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{spec}:4:") and "invalid YAML" in message


def test_a_spec_must_be_a_mapping_with_a_name(tmp_path: Path) -> None:
    spec = tmp_path / "list.yaml"
    spec.write_text("- a\n- b\n")
    with pytest.raises(SpecFileError, match="must be a YAML mapping"):
        load_spec_file(spec)
    spec.write_text("target: y\n")
    with pytest.raises(SpecFileError, match="has no 'name'"):
        load_spec_file(spec)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("./data/train.csv", "data/train.csv"),
        ("../shared/train.parquet", "../shared/train.parquet"),
        ("file:train.csv", "train.csv"),
        ({"kind": "file", "location": "x/train.txt", "format": "csv"}, "x/train.txt"),
    ],
)
def test_local_sources_resolve_against_the_spec_folder(tmp_path: Path, source: object, expected: str) -> None:
    found = local_source({"name": "p", "source": source}, tmp_path)
    assert found is not None and found[0] == tmp_path / expected


def test_absolute_local_source_is_kept(tmp_path: Path) -> None:
    found = local_source({"source": str(tmp_path / "a.csv")}, Path("/elsewhere"))
    assert found == (tmp_path / "a.csv", "csv")


@pytest.mark.parametrize(
    "source", ["sklearn:breast_cancer", "blob:data/x.csv", "data/x.csv", None, "./x.bin"]
)
def test_non_file_or_invalid_sources_are_left_to_the_app(source: object) -> None:
    assert local_source({"source": source}, Path("/tmp")) is None


def test_upload_name_is_safe_and_keeps_a_data_suffix() -> None:
    assert upload_name(Path("/d/train set (1).CSV"), "csv") == "train-set-1.csv"
    assert upload_name(Path("/d/.hidden.parquet"), "parquet") == "hidden.parquet"
    assert upload_name(Path("/d/rows.txt"), "csv") == "rows.csv"


def test_with_source_keeps_a_declared_format() -> None:
    spec = {"name": "p", "source": {"kind": "file", "location": "x.txt", "format": "csv"}}
    changed = with_source(spec, "blob:data/uploads/abc/x.csv")
    assert changed["source"] == {"kind": "blob", "location": "data/uploads/abc/x.csv", "format": "csv"}
    assert spec["source"]["kind"] == "file"  # the original is not changed
    assert (
        with_source({"name": "p", "source": "./x.csv"}, "blob:data/u/x.csv")["source"] == "blob:data/u/x.csv"
    )
