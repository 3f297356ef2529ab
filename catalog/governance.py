"""governance.* Delta tables of the catalog, share decisions and access log: small tables
written with Spark + Delta like governance.batch_log, registered in Trino and read there. Each table's
columns, Chinese comments and title are its contract, schemas/governance/<table>.yaml. Tables whose
contract says `chained: true` (share decisions, access log) are append-only hash chains (catalog.chain)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from catalog import chain
from catalog.trino_tables import register
from infra.settings import Settings, settings
from infra.trino_client import connect
from jobs import governance_tables, tables
from jobs.spark import get_spark
from schemas.contracts import identifier
from schemas.governance import governance_contract, governance_contracts

SCHEMA = governance_tables.SCHEMA


def insert(
    table: str,
    rows: Iterable[Sequence[Any]],
    s: Settings | None = None,
    replace: bool = False,
    key: str | None = None,
) -> int:
    """Write rows with Spark + Delta (Trino's Delta connector refuses writes on a local file system) and
    register the table in Trino; returns the number of rows written. `replace` overwrites the contents;
    `key` merges, inserting only new keys. A chained table (contract `chained: true`) takes rows without
    the chain columns, only appends, and chains what it appends (`_append_chained`)."""
    s = s or settings()
    spark = get_spark("govlake-governance")
    target = governance_tables.ensure(spark, identifier(table))
    values = [list(r) for r in rows]
    if governance_contract(table).chained:
        written = _append_chained(spark, table, values, s, replace, key)
    elif key:
        frame = spark.createDataFrame(values, governance_tables.struct(table))
        merge = target.alias("t").merge(frame.alias("s"), f"t.{identifier(key)} = s.{identifier(key)}")
        tables.retry_conflicts(f"{SCHEMA}.{table} merge", merge.whenNotMatchedInsertAll().execute)
        written = len(values)
    else:
        if values or replace:
            frame = spark.createDataFrame(values, governance_tables.struct(table))
            write = frame.write.format("delta").mode("overwrite" if replace else "append")
            tables.retry_conflicts(f"{SCHEMA}.{table} write", lambda: write.save(tables.path(SCHEMA, table)))
        written = len(values)
    register([(SCHEMA, table)], s)
    return written


def _append_chained(
    spark: SparkSession, table: str, rows: list[list[Any]], s: Settings, replace: bool, key: str | None
) -> int:
    """Under the installation's writer lock: read the last row, keep the rows with new keys (`key`),
    append them with seq, prev_hash and row_hash continuing the chain. Never updates, never replaces."""
    contract = governance_contract(table)
    names = contract.value_names
    if replace:
        raise ValueError(f"governance.{table} is hash-chained (append-only): it cannot be replaced")
    for i, r in enumerate(rows):
        if len(r) != len(names):
            raise ValueError(
                f"governance.{table}: row {i} has {len(r)} values, expected {len(names)} "
                f"({', '.join(names)}; the chain columns are added here)"
            )
    path = tables.path(SCHEMA, table)
    with chain.writer_lock(s.home, table):
        current = spark.read.format("delta").load(path)
        if "seq" not in current.columns:
            current = _adopt(spark, table, current)
        if key:
            known = {r[0] for r in current.select(identifier(key)).distinct().collect()}
            rows = [list(r) for r in chain.new_by_key(rows, names.index(key), known)]
        last = current.orderBy(F.col("seq").desc()).select("seq", "row_hash").first()
        chained = chain.extend(names, rows, (last.seq, last.row_hash) if last else None)
        if chained:
            append = spark.createDataFrame(chained, governance_tables.struct(table)).write.format("delta")
            tables.retry_conflicts(f"{SCHEMA}.{table} append", lambda: append.mode("append").save(path))
    return len(chained)


def _adopt(spark: SparkSession, table: str, old: DataFrame) -> DataFrame:
    """A table written before it was chained gets its chain: its rows in time order (first timestamp
    column, then the first column), chained from the genesis hash and written back with the new
    columns. Returns the rewritten table."""
    contract = governance_contract(table)
    names = contract.value_names
    order = [c.name for c in contract.columns if c.type == "timestamp"][:1] + names[:1]
    rows = [[r[n] for n in names] for r in old.orderBy(*order).collect()]
    frame = spark.createDataFrame(chain.extend(names, rows), governance_tables.struct(table))
    path = tables.path(SCHEMA, table)
    frame.write.format("delta").mode("overwrite").option("overwriteSchema", "true").save(path)
    return spark.read.format("delta").load(path)


def read(table: str) -> list[Any]:
    """All rows of a governance table through Spark (empty if it does not exist yet)."""
    spark = get_spark("govlake-governance")
    path = tables.path(SCHEMA, identifier(table))
    if not DeltaTable.isDeltaTable(spark, path):
        return []
    return spark.read.format("delta").load(path).collect()


def chained_tables() -> list[str]:
    """The governance tables whose contract says `chained: true`."""
    return sorted(name for name, c in governance_contracts().items() if c.chained)


def verify(table: str) -> chain.Verdict:
    """Recompute governance.<table>'s hash chain (an absent table is an empty, intact chain)."""
    contract = governance_contract(table)
    rows = [r.asDict() for r in read(table)]
    return chain.verify(table, contract.value_names, rows, key=contract.names[0])


def select(statement: str, params: list[Any] | None = None, s: Settings | None = None) -> list[list[Any]]:
    with connect(s or settings()) as conn:
        cur = conn.cursor()
        cur.execute(statement, params)
        rows: list[list[Any]] = cur.fetchall()
        return rows


def now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)
