"""Transaction chunking: at most 100 operations and under 4 MiB per transaction (pure)."""

from __future__ import annotations

from typing import Any

from shared.storage import entity_codec as codec
from shared.storage.tables import MAX_BATCH_BYTES, _chunks


def _entity(i: int, text: str = "") -> dict[str, Any]:
    return {"PartitionKey": "p", "RowKey": f"r{i}", "s": text}


def test_250_small_entities_make_100_100_50() -> None:
    sizes = [len(c) for c in _chunks([_entity(i) for i in range(250)])]
    assert sizes == [100, 100, 50]


def test_big_entities_split_by_payload_size() -> None:
    entities = [_entity(i, "x" * 100_000) for i in range(60)]  # ~6 MB in all
    chunks = list(_chunks(entities))
    assert len(chunks) > 1
    assert sum(len(c) for c in chunks) == 60
    for chunk in chunks:
        assert sum(codec.payload_size(e) for e in chunk) <= MAX_BATCH_BYTES


def test_order_is_kept_and_nothing_is_lost() -> None:
    entities = [_entity(i, "y" * (i * 500)) for i in range(120)]
    flat = [e for chunk in _chunks(entities) for e in chunk]
    assert flat == entities
