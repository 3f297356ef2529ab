"""governance.insert on Spark + Delta for the chained tables (one test: Spark's start is the cost): a
pre-chain table is adopted, appends continue the chain, the key path chains only the rows it inserts,
the chain survives the round trip through Delta, a replace is refused and an altered row is named."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from delta.tables import DeltaTable
from pyspark.sql import SparkSession
from pyspark.sql.types import StructType

from catalog import governance
from catalog.audit import first_events
from jobs import governance_tables, tables


@pytest.fixture
def lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SparkSession]:
    from jobs.spark import get_spark, stop_spark  # lazy: Spark only for this module

    monkeypatch.setattr(tables, "path", lambda schema, table: str(tmp_path / schema / table))
    monkeypatch.setattr(governance, "register", lambda names, s=None: [])  # no Trino here
    yield get_spark("govlake-tests")
    stop_spark()


def _access(query_id: str, user: str, minute: int) -> list[Any]:
    at = dt.datetime(2026, 11, 23, 9, minute, 1, 123000)
    return [query_id, user, "FINISHED", None, None, "lake.gold.t", "gold.t.a", "SELECT 1", at, at, 0]


def _decision(request_id: str, status: str) -> list[Any]:
    at, due = dt.datetime(2026, 11, 23, 10, 0, 0), dt.date(2026, 12, 7)
    return [
        request_id,
        "mz",
        "ga",
        "r1",
        "gold.t",
        "a,b",
        status,
        "ok",
        "§1",
        "platform",
        at,
        due,
        False,
        "f",
    ]


def test_chained_inserts_adopt_continue_and_verify(lake: SparkSession) -> None:
    spark = lake
    # an access log written before the chain existed: the contract's columns without the chain columns
    old = StructType(governance_tables.struct("access_log").fields[:-3])
    spark.createDataFrame([_access("q2", "health", 2), _access("q1", "civil_affairs", 1)], old).write.format(
        "delta"
    ).save(tables.path("governance", "access_log"))
    added = governance.insert(
        "access_log",
        [_access("q2", "analyst", 9), _access("q3", "health", 3), _access("q3", "x", 4)],
        key="query_id",
    )
    assert added == 1  # q2 is known, the second q3 is not the first
    rows = sorted(governance.read("access_log"), key=lambda r: r.seq)
    assert [(r.seq, r.query_id, r.user_name) for r in rows] == [
        (1, "q1", "civil_affairs"),
        (2, "q2", "health"),
        (3, "q3", "health"),
    ]
    assert governance.verify("access_log").ok
    # a stored row reads back equal to the event it came from: a resend is no conflict, a change is
    known = {r.query_id: list(r)[:11] for r in rows}
    _, loaded = first_events([_access("q1", "civil_affairs", 1), _access("q3", "analyst", 3)], known)
    assert (loaded.added, loaded.already, loaded.conflicts) == (0, 1, ["q3"])

    governance.insert("share_decision", [_decision("req1", "pending"), _decision("req2", "granted")])
    governance.insert("share_decision", [_decision("req1", "granted")])
    verdict = governance.verify("share_decision")
    assert verdict.ok and verdict.rows == 3, verdict.line()
    with pytest.raises(ValueError, match=r"share_decision is hash-chained \(append-only\)"):
        governance.insert("share_decision", [], replace=True)
    with pytest.raises(ValueError, match=r"row 0 has 3 values, expected 14"):
        governance.insert("share_decision", [["a", "b", "c"]])

    DeltaTable.forPath(spark, tables.path("governance", "share_decision")).update(
        "seq = 2", {"status": "'refused'"}
    )
    assert governance.verify("share_decision").problem == (
        "seq 2 (request_id 'req2') was altered: its row_hash does not match its values"
    )
    assert governance.chained_tables() == ["access_log", "share_decision"]
