"""Delivery versions in bronze: a corrected re-delivery (a file of the batch delivered again under the same
name with new content) is appended beside the earlier version, and every row of a file's other versions is
marked `_superseded`. Refine reads only each file's current version.

A version is a (batch, source file, checksum). Ingest marks them from the delivery it was given, in one
Delta UPDATE after its append, on every run (a run that only skips files marks too), so a run that died
between the append and the marking converges when the batch runs again, and a file re-delivered as an
earlier version makes that version current again. Until then refine still reads one version per file: of
those not marked, the one ingested last (what the dead run appended).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType, StructField, StructType

from infra.settings import settings
from jobs import tables
from jobs.preflight import DeliveredFile
from schemas.contracts import FeedContract
from schemas.datasets import feed_tables

SUPERSEDED = "_superseded"
_SEP = "\u0000"  # never in a path or a checksum


@dataclass(frozen=True)
class Version:
    source_file: str
    checksum: str
    any_marked: bool  # some row marked superseded (after a completed marking: all or none)
    all_marked: bool
    ingested_at: dt.datetime


def superseded_field() -> StructField:
    """The bronze column (NULL in rows ingested before it existed: current, until marked)."""
    return tables.field(SUPERSEDED, BooleanType(), "已被同名文件的更正版本取代（同批次重新交付）")


def ensure_column(spark: SparkSession, bronze: DeltaTable, location: str) -> None:
    """Add the column to a bronze table created before it existed (an empty append that merges it in)."""
    if SUPERSEDED not in bronze.toDF().columns:
        empty = spark.createDataFrame([], StructType([superseded_field()]))
        empty.write.format("delta").mode("append").option("mergeSchema", "true").save(location)


def relative(f: DeliveredFile) -> str:
    """A delivered file's `_source_file`: its path relative to the landing zone."""
    landing = settings().landing
    return str(f.path.relative_to(landing)) if f.path.is_relative_to(landing) else str(f.path)


def _version() -> Column:
    return F.concat_ws(_SEP, "_source_file", "_source_checksum")


def _marked() -> Column:
    return F.coalesce(F.col(SUPERSEDED), F.lit(False))


def _batch(spark: SparkSession, contract: FeedContract, batch_id: str) -> DataFrame:
    bronze = spark.read.format("delta").load(tables.table_path(feed_tables(contract).bronze))
    return bronze.where(F.col("_batch_id") == batch_id)


def of_batch(spark: SparkSession, contract: FeedContract, batch_id: str) -> list[Version]:
    """Every version bronze holds of the batch's files (one small aggregate over the batch's partition)."""
    found = (
        _batch(spark, contract, batch_id)
        .groupBy("_source_file", "_source_checksum")
        .agg(
            F.max(_marked()).alias("any_marked"),
            F.min(_marked()).alias("all_marked"),
            F.max("_ingested_at").alias("ingested_at"),
        )
        .collect()
    )
    return [Version(r[0], r[1], r.any_marked, r.all_marked, r.ingested_at) for r in found]


def mark(
    spark: SparkSession,
    contract: FeedContract,
    batch_id: str,
    files: list[DeliveredFile],
    found: list[Version],
) -> None:
    """Mark every other version of the delivered files superseded and the delivered one not: one UPDATE
    of the rows whose mark changes, none when nothing does (`found`: the versions before this run)."""
    delivered = {relative(f): f.sha256 for f in files}
    of_delivered = [v for v in found if v.source_file in delivered]
    if not any(
        v.any_marked if delivered[v.source_file] == v.checksum else not v.all_marked for v in of_delivered
    ):
        return
    stale = ~_version().isin([f"{name}{_SEP}{sha}" for name, sha in delivered.items()])
    rows = (F.col("_batch_id") == batch_id) & F.col("_source_file").isin(list(delivered))
    bronze = DeltaTable.forPath(spark, tables.table_path(feed_tables(contract).bronze))
    bronze.update(rows & (_marked() != stale), {SUPERSEDED: stale})


def current(spark: SparkSession, contract: FeedContract, batch_id: str) -> DataFrame:
    """The batch's bronze rows of each file's current version: not marked, and the latest ingested."""
    latest: dict[str, Version] = {}
    for v in of_batch(spark, contract, batch_id):
        before = latest.get(v.source_file)
        if not v.any_marked and (before is None or v.ingested_at > before.ingested_at):
            latest[v.source_file] = v
    chosen = [f"{v.source_file}{_SEP}{v.checksum}" for v in latest.values()]
    return _batch(spark, contract, batch_id).where(_version().isin(chosen))
