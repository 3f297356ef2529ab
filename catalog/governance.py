"""governance.* Delta tables of the catalog, share decisions and access log: small tables
written with Spark + Delta like governance.batch_log, registered in Trino and read there. Each table's
columns, Chinese comments and title are its contract, schemas/governance/<table>.yaml."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from delta.tables import DeltaTable

from catalog.trino_tables import register
from infra.settings import Settings, settings
from infra.trino_client import connect
from jobs import governance_tables, tables
from jobs.spark import get_spark
from schemas.contracts import identifier

SCHEMA = governance_tables.SCHEMA


def insert(
    table: str,
    rows: Iterable[Sequence[Any]],
    s: Settings | None = None,
    replace: bool = False,
    key: str | None = None,
) -> int:
    """Write rows with Spark + Delta (Trino's Delta connector refuses writes on a local file system) and
    register the table in Trino. `replace` overwrites the contents; `key` merges, inserting only new keys."""
    s = s or settings()
    spark = get_spark("govlake-governance")
    target = governance_tables.ensure(spark, identifier(table))
    rows = [list(r) for r in rows]
    frame = spark.createDataFrame(rows, governance_tables.struct(table))
    if key:
        target.alias("t").merge(
            frame.alias("s"), f"t.{identifier(key)} = s.{identifier(key)}"
        ).whenNotMatchedInsertAll().execute()
    elif rows or replace:
        frame.write.format("delta").mode("overwrite" if replace else "append").save(
            tables.path(SCHEMA, table)
        )
    register([(SCHEMA, table)], s)
    return len(rows)


def read(table: str) -> list[Any]:
    """All rows of a governance table through Spark (empty if it does not exist yet)."""
    spark = get_spark("govlake-governance")
    path = tables.path(SCHEMA, identifier(table))
    if not DeltaTable.isDeltaTable(spark, path):
        return []
    return spark.read.format("delta").load(path).collect()


def select(statement: str, params: list[Any] | None = None, s: Settings | None = None) -> list[list[Any]]:
    with connect(s or settings()) as conn:
        cur = conn.cursor()
        cur.execute(statement, params)
        rows: list[list[Any]] = cur.fetchall()
        return rows


def now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)
