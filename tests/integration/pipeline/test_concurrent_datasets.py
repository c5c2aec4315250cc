"""Two runs of one pipeline on the same file at once: one dataset version, one set of splits, none torn.

Found by the end-to-end race (ten HTTP runs of one pipeline): concurrent ingests and validations of
the same version wrote the same block blobs, and a writer's commit discards another writer's
staged blocks, so runs failed in validate or trained on a torn split. Every writer now has its own
folder and the dataset row is the single publication point (first wins).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from shared.pipeline.spec import PipelineSpec, load_spec
from shared.settings import Settings
from shared.steps import datasets
from shared.storage.factory import Storage

WRITERS = 8
ROWS = 3000
#: Numbers and a category; a tenth of the rows have an empty target and go to quarantine.
CSV = "a,b,colour,label\n" + "".join(
    f"{i},{(i * 7) % 13 / 3:.3f},{('red', 'green', 'blue')[i % 3]},{'' if i % 10 == 0 else i % 2}\n"
    for i in range(ROWS)
)


@pytest.fixture
def storage(settings: Settings) -> Storage:
    built = Storage.from_settings(settings)
    built.ensure_all()
    return built


def _spec(name: str, location: str) -> PipelineSpec:
    return load_spec(
        {
            "name": name,
            "source": location,
            "target": "label",
            "task": "classification",
            "trainer": {"kind": "sklearn", "model": "logistic_regression"},
            "compute": {"kind": "local"},
            "reject_threshold": 0.2,
        }
    )


def test_concurrent_runs_on_one_file_share_one_version_and_whole_splits(
    storage: Storage, settings: Settings, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage.blobs.put_bytes("data", f"uploads/race-{unique}.csv", CSV.encode())
    spec = _spec(f"dsrace-{unique}", f"blob:data/uploads/race-{unique}.csv")
    # Small parse chunks: each writer stages many blocks, so their writes overlap in time.
    monkeypatch.setattr(datasets, "CHUNK_BYTES", 4096)
    start = threading.Barrier(WRITERS)

    def run(_: int) -> dict[str, Any]:
        start.wait()
        ingested = datasets.ingest(storage, spec, settings)
        return datasets.validate(storage, spec, ingested["version"])

    with ThreadPoolExecutor(WRITERS) as pool:
        results = list(pool.map(run, range(WRITERS)))

    assert len({r["version"] for r in results}) == 1
    assert all(not r["rejected"] for r in results), [r["reasons"] for r in results]
    distinct = {tuple(sorted(r["splits"].items())) for r in results}
    assert len(distinct) == 1, "every run reads one set of splits"
    first = results[0]
    assert first["rows_quarantined"] == ROWS // 10 and first["rows_accepted"] == ROWS - ROWS // 10
    total = 0
    for split, blob in first["splits"].items():
        frame = datasets.read_frame(storage, blob)  # sha256-verified: a torn blob fails here
        assert frame.height == first["split_rows"][split] > 0, split
        assert frame.columns == ["a", "b", "colour", "label"]
        total += frame.height
    assert total == first["rows_accepted"]

    record = storage.datasets.try_get(spec.name, first["version"])
    assert record is not None and record.status == "validated" and record.splits == first["splits"]
    # The losers removed what they wrote: one typed copy and one set of splits remain.
    names = list(storage.blobs.list_names("datasets", f"{spec.name}/{first['version']}/"))
    assert [n for n in names if n.endswith("/ingested.parquet")] == [record.ingested_blob]
    split_files = [n for n in names if n.endswith(("train.parquet", "validation.parquet", "holdout.parquet"))]
    assert sorted(split_files) == sorted(first["splits"].values())
    assert datasets.load_baseline(storage, spec.name) is not None
