"""governance.batch_log: one row per feed, batch and stage, with its counts and outcome."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql.types import StructType

from jobs import governance_tables, tables

SCHEMA, TABLE = governance_tables.SCHEMA, "batch_log"  # schemas/governance/batch_log.yaml


def struct() -> StructType:
    return governance_tables.struct(TABLE)


def entry(
    feed: str,
    batch_id: str,
    stage: str,
    status: str,
    started_at: dt.datetime,
    message: str = "",
    finished_at: dt.datetime | None = None,
    **counts: int | None,
) -> dict[str, Any]:
    return {
        "feed": feed,
        "batch_id": batch_id,
        "stage": stage,
        "status": status,
        "message": message[:4000],
        "started_at": started_at,
        "finished_at": finished_at or dt.datetime.now(),
        **{k: counts.get(k) for k in ("rows_in", "rows_out", "quarantined", "inserted", "updated")},
    }


def record(spark: SparkSession, *entries: dict[str, Any]) -> None:
    """Append the entries in one Delta commit."""
    governance_tables.ensure(spark, TABLE)
    rows = tables.local_frame(spark, list(entries), struct())
    rows.write.format("delta").mode("append").save(tables.path(SCHEMA, TABLE))
