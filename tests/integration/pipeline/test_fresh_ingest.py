"""Ingesting a fresh-data selection on Azurite: the selected blobs are read as one dataset, the
version follows their bytes, the lineage names exactly the blobs read, odd blobs fail the step."""

from __future__ import annotations

import hashlib
import io
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import polars as pl
import pytest

from shared.data.ingest_stream import chain_csv
from shared.data.types import ROW
from shared.errors import ConcurrencyConflictError, ValidationError
from shared.pipeline.spec import PipelineSpec, load_spec
from shared.settings import Settings
from shared.steps import datasets, sources
from shared.storage.factory import Storage

HEADER = "a,b,label\n"


@pytest.fixture
def storage(settings: Settings) -> Storage:
    built = Storage.from_settings(settings)
    built.ensure_all()
    return built


def _spec(name: str, source: Any) -> PipelineSpec:
    return load_spec(
        {
            "name": name,
            "source": source,
            "target": "label",
            "task": "classification",
            "trainer": {"kind": "sklearn", "model": "logistic_regression"},
            "compute": {"kind": "local"},
        }
    )


def _rows(start: int, count: int) -> str:
    return "".join(f"{i},{i % 7},{i % 2}\n" for i in range(start, start + count))


def test_chained_csv_drops_later_headers_and_ends_unterminated_rows() -> None:
    parts = [b"a,label\n1,0\n2,1", b"a,label\r\n3,0\r\n", b"a,label", b"\xef\xbb\xbfa,label\n4,1\n"]
    with chain_csv([lambda p=p: io.BytesIO(p) for p in parts])() as stream:
        assert stream.read() == b"a,label\n1,0\n2,1\n3,0\r\n4,1\n"


def test_a_selection_is_ingested_as_one_dataset_with_its_lineage(
    storage: Storage, settings: Settings, unique: str
) -> None:
    bodies = {
        "day-1.csv": HEADER + _rows(0, 40),
        "day-2.csv": HEADER + _rows(40, 30),
        "day-3.csv": HEADER + _rows(70, 20)[:-1],  # no newline at the end: still its own row
        "day-4.csv": HEADER + _rows(90, 25),
    }
    for name, body in bodies.items():  # in order: day-4 is the newest
        storage.blobs.put_bytes("data", f"{unique}/fresh/{name}", body.encode())
    source = {"kind": "blob", "location": f"data/{unique}/fresh/day-*.csv", "select": {"newest": 3}}
    spec = _spec(f"fresh-{unique}", source)

    result = datasets.ingest(storage, spec, settings)
    assert result["rows_read"] == 30 + 20 + 25 and not result["reused"] and not result["reasons"]
    read = [b["name"] for b in result["source_blobs"]]
    assert read == [f"{unique}/fresh/day-{i}.csv" for i in (2, 3, 4)]
    for item in result["source_blobs"]:
        body = bodies[item["name"].rsplit("/", 1)[1]].encode()
        assert item["container"] == "data" and item["size"] == len(body)
        assert item["sha256"] == hashlib.sha256(body).hexdigest()
        assert item["etag"] and item["last_modified"]
    record = storage.datasets.try_get(spec.name, result["version"])
    assert record is not None and record.source_blobs == result["source_blobs"]

    validated = datasets.validate(storage, spec, result["version"])
    assert validated["rows_accepted"] == 75 and not validated["rejected"]
    frames = [datasets.read_frame(storage, blob) for blob in validated["splits"].values()]
    values = sorted(pl.concat(frames)["a"].to_list())
    assert values == list(range(40, 115))  # every row of the three blobs, none merged or lost

    # Same blobs -> same version, reused; a new blob -> the newest three change -> a new version.
    again = datasets.ingest(storage, spec, settings)
    assert again["version"] == result["version"] and again["reused"]
    assert again["source_blobs"] == result["source_blobs"]
    storage.blobs.put_bytes("data", f"{unique}/fresh/day-5.csv", (HEADER + _rows(115, 5)).encode())
    fresh = datasets.ingest(storage, spec, settings)
    assert fresh["version"] != result["version"] and fresh["rows_read"] == 20 + 25 + 5
    assert [b["name"] for b in fresh["source_blobs"]] == [f"{unique}/fresh/day-{i}.csv" for i in (3, 4, 5)]


def test_a_single_blob_keeps_its_version_and_gets_a_lineage(
    storage: Storage, settings: Settings, unique: str
) -> None:
    body = (HEADER + _rows(0, 10)).encode()
    storage.blobs.put_bytes("data", f"{unique}/one.csv", body)
    result = datasets.ingest(storage, _spec(f"one-{unique}", f"blob:data/{unique}/one.csv"), settings)
    assert result["version"] == hashlib.sha256(body).hexdigest()  # as before: the file's sha256
    assert [b["name"] for b in result["source_blobs"]] == [f"{unique}/one.csv"]
    # The same bytes picked by a pattern are the same version.
    picked = datasets.ingest(storage, _spec(f"one-{unique}", f"blob:data/{unique}/one*.csv"), settings)
    assert picked["version"] == result["version"] and picked["reused"]


def test_parquet_parts_number_their_rows_on(storage: Storage, settings: Settings, unique: str) -> None:
    for i, (start, count) in enumerate([(0, 30), (30, 12)]):
        frame = pl.DataFrame({"a": list(range(start, start + count)), "label": [j % 2 for j in range(count)]})
        buffer = io.BytesIO()
        frame.write_parquet(buffer)
        storage.blobs.put_bytes("data", f"{unique}/pq/part-{i}.parquet", buffer.getvalue())
    spec = _spec(f"pq-{unique}", {"kind": "blob", "location": f"data/{unique}/pq/", "format": "parquet"})
    result = datasets.ingest(storage, spec, settings)
    assert result["rows_read"] == 42 and len(result["source_blobs"]) == 2
    record = storage.datasets.try_get(spec.name, result["version"])
    assert record is not None and record.ingested_blob is not None
    typed = datasets.read_frame(storage, record.ingested_blob)
    assert typed[ROW].to_list() == list(range(1, 43))
    assert typed["a"].to_list() == list(range(42))


def test_an_odd_header_or_an_empty_selection_fails_the_step_naming_it(
    storage: Storage, settings: Settings, unique: str
) -> None:
    spec = _spec(f"odd-{unique}", f"blob:data/{unique}/in/*.csv")
    with pytest.raises(ValidationError) as err:  # registered earlier, nothing there when it runs
        datasets.ingest(storage, spec, settings)
    assert err.value.field == "source.location" and "selects no readable blob" in err.value.message
    storage.blobs.put_bytes("data", f"{unique}/in/a.csv", (HEADER + _rows(0, 5)).encode())
    storage.blobs.put_bytes("data", f"{unique}/in/b.csv", ("a,c,label\n" + _rows(5, 5)).encode())
    with pytest.raises(ValidationError) as err:
        datasets.ingest(storage, spec, settings)
    assert f"blob data/{unique}/in/b.csv has a different header" in err.value.message
    assert not list(storage.blobs.list_names("datasets", f"{spec.name}/"))  # nothing written


def test_a_blob_rewritten_after_selection_fails_the_read_instead_of_mixing(
    storage: Storage, settings: Settings, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("a.csv", "b.csv"):
        storage.blobs.put_bytes("data", f"{unique}/mv/{name}", (HEADER + _rows(0, 5)).encode())
    spec = _spec(f"mv-{unique}", f"blob:data/{unique}/mv/*.csv")
    selected = sources.resolve_blobs(storage, spec.source, settings)
    storage.blobs.put_bytes("data", f"{unique}/mv/b.csv", (HEADER + _rows(0, 6)).encode())
    monkeypatch.setattr(sources, "resolve_blobs", lambda *_a, **_k: selected)
    with pytest.raises(ConcurrencyConflictError, match="changed or disappeared"):
        datasets.ingest(storage, spec, settings)  # caught comparing the headers
    one = _spec(f"mv-{unique}", f"blob:data/{unique}/mv/a.csv")
    selected = sources.resolve_blobs(storage, one.source, settings)
    storage.blobs.put_bytes("data", f"{unique}/mv/a.csv", (HEADER + _rows(0, 7)).encode())
    with pytest.raises(ConcurrencyConflictError, match="changed or disappeared"):
        datasets.ingest(storage, one, settings)  # caught reading the rows


def test_concurrent_runs_on_a_prefix_share_one_version(
    storage: Storage, settings: Settings, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(3):
        body = HEADER + _rows(i * 400, 400)
        storage.blobs.put_bytes("data", f"{unique}/race/{i}.csv", body.encode())
    spec = _spec(f"frace-{unique}", {"kind": "blob", "location": f"data/{unique}/race/", "format": "csv"})
    monkeypatch.setattr(datasets, "CHUNK_BYTES", 2048)  # many blocks each: the writes overlap
    start = threading.Barrier(2)

    def run(_: int) -> dict[str, Any]:
        start.wait()
        ingested = datasets.ingest(storage, spec, settings)
        return datasets.validate(storage, spec, ingested["version"])

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(run, range(2)))
    assert len({r["version"] for r in results}) == 1
    assert {tuple(sorted(r["splits"].items())) for r in results} == {
        tuple(sorted(results[0]["splits"].items()))
    }
    assert results[0]["rows_accepted"] == 1200
    total = sum(datasets.read_frame(storage, b).height for b in results[0]["splits"].values())
    assert total == 1200


def test_the_ingest_activity_keeps_the_blobs_read_in_the_run_details(
    storage: Storage, settings: Settings, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import functions.deps
    from functions.activities import ingest_dataset
    from shared.steps import runs

    for i in range(2):
        storage.blobs.put_bytes("data", f"{unique}/act/{i}.csv", (HEADER + _rows(i * 10, 10)).encode())
    spec = _spec(f"act-{unique}", f"blob:data/{unique}/act/*.csv")
    pipeline, run_id = spec.name, f"{spec.name}-run"
    runs.create_pending(storage, pipeline, run_id)
    runs.start_run(storage, pipeline, run_id)
    monkeypatch.setattr(functions.deps, "storage", lambda: storage)
    monkeypatch.setenv("AzureWebJobsStorage", str(settings.storage_connection_string))

    activity = ingest_dataset.build().get_user_function()  # the function the worker calls
    payload = {"pipeline": pipeline, "run_id": run_id, "spec": spec.model_dump(mode="json", by_alias=True)}
    reply = activity(payload)
    assert reply["failure"] is None and reply["value"]["rows_read"] == 20
    record = runs.find_run(storage, run_id)
    assert [b["name"] for b in record.details["source_blobs"]] == [f"{unique}/act/{i}.csv" for i in range(2)]
    assert all(b["etag"] and b["sha256"] for b in record.details["source_blobs"])
