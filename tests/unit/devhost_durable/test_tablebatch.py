"""The $batch writer's entity encoding and endpoint discovery (no I/O)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from devhost.durable.tablebatch import TableBatchWriter, entity_json


def test_entity_json_annotates_types() -> None:
    row = {
        "PartitionKey": "p",
        "RowKey": "0000000000000001",
        "EventId": 3,
        "Big": 2**40,
        "Ratio": 0.5,
        "IsPlayed": False,
        "When": datetime(2024, 1, 2, 3, 4, 5, 600000, tzinfo=UTC),
        "Skip": None,
        "Text": "é'\"",
    }
    body = json.loads(entity_json(row))
    assert body["EventId"] == 3 and "EventId@odata.type" not in body
    assert body["Big"] == str(2**40) and body["Big@odata.type"] == "Edm.Int64"
    assert body["Ratio@odata.type"] == "Edm.Double"
    assert body["When"] == "2024-01-02T03:04:05.600000Z" and body["When@odata.type"] == "Edm.DateTime"
    assert "Skip" not in body and body["Text"] == "é'\"" and body["IsPlayed"] is False


def test_endpoints_from_connection_strings() -> None:
    azurite = TableBatchWriter(
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
        "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;"
    )
    assert azurite.available and azurite.endpoint == "http://127.0.0.1:10002/devstoreaccount1"
    cloud = TableBatchWriter(
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.windows.net"
    )
    assert cloud.endpoint == "https://acct.table.core.windows.net"
    sas = TableBatchWriter("TableEndpoint=https://acct.table.core.windows.net;SharedAccessSignature=sv=1")
    assert not sas.available


def test_fast_timestamps_match_dateutil_exactly() -> None:
    from dateutil.parser import parse

    from devhost.durable.timestamps import make_fast_parser

    fast = make_fast_parser(parse)
    for text in ("2024-01-02T03:04:05.123456Z", "1999-12-31T23:59:59.000000Z"):
        expected, got = parse(text), fast(text)
        assert got == expected and type(got.tzinfo) is type(expected.tzinfo) and got.tzinfo == expected.tzinfo
    assert fast("2024-01-02T03:04:05Z") == parse("2024-01-02T03:04:05Z")  # other formats: dateutil
