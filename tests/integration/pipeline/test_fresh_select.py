"""Fresh-data selection: a blob prefix or pattern with a rule (newest N, time window) resolves to
exactly the expected blobs, confined like any blob source, checked at submission."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import polars as pl
import pydantic
import pytest

from shared.errors import ConfigurationError, ValidationError
from shared.pipeline.sections import MAX_SELECTED_BLOBS, Selection, Source
from shared.settings import Settings, load_settings
from shared.steps import sources
from shared.storage.blobs import BlobInfo
from shared.storage.factory import Storage

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def storage(settings: Settings) -> Storage:
    store = Storage.from_settings(settings)
    store.ensure_all()
    return store


def _info(name: str, hours_ago: float) -> BlobInfo:
    return BlobInfo("data", name, f'"{name}"', 10, NOW - timedelta(hours=hours_ago), None)


def _names(picked: list[BlobInfo] | list[sources.SourceBlob]) -> list[str]:
    return [b.name for b in picked]


LISTED = [_info("f/a.csv", 50), _info("f/b.csv", 30), _info("f/c.csv", 1), _info("f/d.csv", 10)]


def test_newest_n_keeps_the_most_recently_modified_in_name_order() -> None:
    picked = sources.select_blobs(LISTED, Selection(newest=2), NOW)
    assert _names(picked) == ["f/c.csv", "f/d.csv"]


def test_a_window_keeps_blobs_modified_within_it() -> None:
    assert _names(sources.select_blobs(LISTED, Selection(within="12h"), NOW)) == ["f/c.csv", "f/d.csv"]
    assert _names(sources.select_blobs(LISTED, Selection(within="2d"), NOW)) == [
        "f/b.csv",
        "f/c.csv",
        "f/d.csv",
    ]
    assert sources.select_blobs(LISTED, Selection(within="30m"), NOW) == []


def test_newest_within_a_window_applies_both() -> None:
    picked = sources.select_blobs(LISTED, Selection(newest=3, within="2d"), NOW)
    assert _names(picked) == ["f/b.csv", "f/c.csv", "f/d.csv"]
    picked = sources.select_blobs(LISTED, Selection(newest=1, within="2d"), NOW)
    assert _names(picked) == ["f/c.csv"]


def test_no_rule_keeps_every_match_but_stops_past_the_cap() -> None:
    many = (_info(f"f/{i:05d}.csv", i) for i in range(MAX_SELECTED_BLOBS + 50))
    assert len(sources.select_blobs(many, None, NOW)) == MAX_SELECTED_BLOBS + 1


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"kind": "blob", "location": "data/fresh/", "select": {"within": "7 days"}}, "unit"),
        ({"kind": "blob", "location": "data/fresh/", "select": {}}, "newest, within"),
        ({"kind": "blob", "location": "data/fresh/", "select": {"newest": 0}}, "newest"),
        ({"kind": "blob", "location": "data/fresh/", "select": {"newest": MAX_SELECTED_BLOBS + 1}}, "newest"),
        ({"kind": "blob", "location": "data/fresh/x.csv", "select": {"newest": 1}}, "prefix"),
        ({"kind": "blob", "location": "data/fresh/"}, "source.format"),
        ({"kind": "blob", "location": "data/../x/*.csv"}, ".."),
    ],
)
def test_bad_selections_are_refused_by_the_spec(raw: dict[str, object], message: str) -> None:
    with pytest.raises(pydantic.ValidationError) as err:
        Source.model_validate(raw)
    assert message in str(err.value)


def test_the_shorthand_still_reads_and_a_pattern_infers_its_format() -> None:
    source = Source.model_validate("blob:data/fresh/*.csv")
    assert source.kind == "blob" and source.is_selection() and source.resolved_format() == "csv"
    assert not Source.model_validate("data/fresh/x.csv").is_selection()
    prefix = Source.model_validate({"kind": "blob", "location": "data/fresh/", "format": "parquet"})
    assert prefix.is_selection() and prefix.select is None


def _put_in_order(storage: Storage, names: list[str], body: bytes) -> None:
    # Written one after another: each later blob is at least as new (Azurite's clock is per request).
    for name in names:
        storage.blobs.put_bytes("data", name, body)


def test_resolution_on_azurite_reads_exactly_the_matching_blobs(
    storage: Storage, settings: Settings, unique: str
) -> None:
    body = b"a,label\n1,0\n"
    names = [f"{unique}/fresh/day-{i}.csv" for i in range(4)]
    _put_in_order(storage, names, body)
    storage.blobs.put_bytes("data", f"{unique}/fresh/notes.txt", b"not data")
    storage.blobs.put_bytes("data", f"{unique}/fresh/deeper/day-9.csv", body)
    storage.blobs.put_bytes("data", f"{unique}/freshly.csv", body)

    pattern = Source(kind="blob", location=f"data/{unique}/fresh/*.csv")
    picked = sources.resolve_blobs(storage, pattern, settings)
    assert _names(picked) == names  # not notes.txt, not deeper/, not freshly.csv
    assert all(b.container == "data" and b.size == len(body) and b.etag.startswith('"') for b in picked)
    assert all(b.sha256 is not None and b.last_modified is not None for b in picked)

    prefix = Source(kind="blob", location=f"data/{unique}/fresh/", format="csv")
    assert len(sources.resolve_blobs(storage, prefix, settings)) == 6  # every blob under the prefix

    # Newest N by the blobs' own last-modified times, whatever their names.
    newest = Source(kind="blob", location=f"data/{unique}/fresh/day-*.csv", select=Selection(newest=2))
    modified = sorted(picked, key=lambda b: (b.last_modified, b.name))
    expected = sorted(b.name for b in modified[-2:])
    assert _names(sources.resolve_blobs(storage, newest, settings)) == expected

    # A window: everything now; nothing when "now" is long after the writes.
    window = Source(kind="blob", location=f"data/{unique}/fresh/*.csv", select=Selection(within="1h"))
    assert _names(sources.resolve_blobs(storage, window, settings)) == names
    later = datetime.now(UTC) + timedelta(hours=2)
    with pytest.raises(ValidationError) as err:
        sources.resolve_blobs(storage, window, settings, now=later)
    assert err.value.field == "source.location" and "selects no readable blob" in err.value.message


def test_a_pattern_matching_nothing_is_a_400_at_submission(
    storage: Storage, settings: Settings, unique: str
) -> None:
    storage.blobs.put_bytes("data", f"{unique}/fresh/a.csv", b"a,label\n1,0\n")
    source = Source(kind="blob", location=f"data/{unique}/fresh/*.parquet")
    with pytest.raises(ValidationError) as err:
        sources.check_source(storage, source, "label", settings)
    assert err.value.field == "source.location" and "selects no readable blob" in err.value.message
    # A prefix in a container that does not exist reads the same.
    missing = Source(kind="blob", location=f"data/{unique}/nothing-here/", format="csv")
    with pytest.raises(ValidationError) as err:
        sources.check_source(storage, missing, "label", settings)
    assert "selects no readable blob" in err.value.message


def test_internal_and_unlisted_containers_are_refused_before_listing(
    storage: Storage, settings: Settings, unique: str
) -> None:
    storage.blobs.put_bytes("datasets", f"{unique}/x.parquet", b"PAR1")
    answers = set()
    # Internal (existing blobs), unlisted, and a data-container pattern matching nothing: one wording.
    cases = (
        "datasets/",
        f"datasets/{unique}/*.parquet",
        f"raw{unique}/*.parquet",
        f"data/{unique}/*.parquet",
    )
    for location in cases:
        source = Source(kind="blob", location=location, format="parquet")
        with pytest.raises(ValidationError) as err:
            sources.check_source(storage, source, "label", settings)
        assert err.value.field == "source.location"
        answers.add(err.value.message.replace(repr(location), "<location>"))
    assert answers == {
        "source <location> selects no readable blob in the configured data containers (MLOPS_DATA_CONTAINERS)"
    }
    # An internal container cannot even be configured as a data container.
    with pytest.raises(ConfigurationError, match="internal container"):
        load_settings(
            environ={
                "AzureWebJobsStorage": str(settings.storage_connection_string),
                "MLOPS_DATA_CONTAINERS": "data,datasets",
            }
        )


def _parquet(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


def test_mismatched_headers_name_the_odd_blob_at_submission(
    storage: Storage, settings: Settings, unique: str
) -> None:
    storage.blobs.put_bytes("data", f"{unique}/csv/a.csv", b"a,b,label\n1,2,0\n")
    storage.blobs.put_bytes("data", f"{unique}/csv/b.csv", b"a,b,label\r\n3,4,1\r\n")  # same columns
    storage.blobs.put_bytes("data", f"{unique}/csv/c.csv", b"a,label,b\n1,0,2\n")
    source = Source(kind="blob", location=f"data/{unique}/csv/*.csv")
    with pytest.raises(ValidationError) as err:
        sources.check_source(storage, source, "label", settings)
    assert f"blob data/{unique}/csv/c.csv has a different header" in err.value.message
    storage.blobs.delete("data", f"{unique}/csv/c.csv")
    sources.check_source(storage, source, "label", settings)
    with pytest.raises(ValidationError) as err:
        sources.check_source(storage, source, "outcome", settings)
    assert err.value.field == "target"

    frame = pl.DataFrame({"x": [1.0, 2.0], "label": [0, 1]})
    storage.blobs.put_bytes("data", f"{unique}/pq/a.parquet", _parquet(frame))
    storage.blobs.put_bytes("data", f"{unique}/pq/b.parquet", _parquet(frame.cast({"x": pl.String})))
    with pytest.raises(ValidationError) as err:
        sources.check_source(
            storage, Source(kind="blob", location=f"data/{unique}/pq/*.parquet"), "label", settings
        )
    assert f"blob data/{unique}/pq/b.parquet has a different schema" in err.value.message


def test_run_summary_lists_the_blobs_read(monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.console import Console

    from cli import show

    screen = Console(width=120, record=True, highlight=False)
    monkeypatch.setattr(show, "console", screen)
    read = [{"container": "data", "name": f"fresh/day-{i}.csv", "etag": '"0x1"'} for i in range(7)]
    show.summary({"run_id": "r1", "status": "Succeeded", "details": {"source_blobs": read}})
    text = screen.export_text()
    assert "source blobs (7)" in text and "data/fresh/day-0.csv" in text and "data/fresh/day-4.csv" in text
    assert "day-5.csv" not in text and "... and 2 more" in text


def test_a_selection_over_the_cap_is_refused(
    storage: Storage, settings: Settings, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sources, "MAX_SELECTED_BLOBS", 3)  # the rule, not 1,001 uploads
    for i in range(4):
        storage.blobs.put_bytes("data", f"{unique}/cap/{i}.csv", b"a,label\n1,0\n")
    source = Source(kind="blob", location=f"data/{unique}/cap/", format="csv")
    with pytest.raises(ValidationError) as err:
        sources.check_source(storage, source, "label", settings)
    assert "selects 4 blobs, more than 3" in err.value.message and err.value.field == "source.location"
    narrowed = Source(kind="blob", location=f"data/{unique}/cap/", format="csv", select=Selection(newest=3))
    assert len(sources.resolve_blobs(storage, narrowed, settings)) == 3
