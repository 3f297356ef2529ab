"""The frames a suite validates, prepared once: the batch as delivered (refine's cached rows, or silver and
quarantine read back), gold as published, and the helper columns the rules need (reference joins, key
counts, native flags), cached for the passes that read them."""

from __future__ import annotations

from functools import reduce
from operator import and_

from delta.tables import DeltaTable
from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import tables
from jobs.columns import clean, typed
from jobs.reference import add_lookups
from quality.suite import Rule
from schemas import checks
from schemas.contracts import FeedContract
from schemas.datasets import EXTRA, feed_tables

META_COLUMNS = ("_source_file", "_line")
PROBLEMS = "_problems"  # refine's problems of the row, on the frame refine hands the gate
BROADCAST_KEYS = 200_000  # duplicated keys up to this many are joined back by broadcast


def gate_frame(spark: SparkSession, contract: FeedContract, batch: str) -> DataFrame:
    """The batch as delivered, after refinement: silver rows plus the rows quarantined from it."""
    cols = contract.columns
    silver = (
        spark.read.format("delta")
        .load(tables.table_path(feed_tables(contract).silver))
        .where(F.col("_batch_id") == batch)
        .select(
            *[c.name for c in cols],
            *[F.col(c.name).cast("string").alias(f"_raw_{c.name}") for c in cols if c.type != "string"],
            F.lit(None).cast("string").alias(EXTRA),
            *META_COLUMNS,
        )
    )
    raw_schema = ", ".join(f"`{n}` string" for n in [c.name for c in cols] + [EXTRA])
    quarantined = (
        spark.read.format("delta")
        .load(tables.table_path(feed_tables(contract).quarantine))
        .where((F.col("_feed") == contract.key) & (F.col("_batch_id") == batch))
        .select(F.from_json("raw", raw_schema).alias("r"), "source_file", "line")
        .select("r.*", F.col("source_file").alias("_source_file"), F.col("line").alias("_line"))
        .select(*[clean(c).alias(f"_raw_{c.name}") for c in cols], EXTRA, *META_COLUMNS)
        .select(
            *[typed(c, F.col(f"_raw_{c.name}")).alias(c.name) for c in cols],
            *[f"_raw_{c.name}" for c in cols if c.type != "string"],
            EXTRA,
            *META_COLUMNS,
        )
    )
    return silver.unionByName(quarantined)


def gold_frame(spark: SparkSession, contract: FeedContract) -> DataFrame:
    return (
        spark.read.format("delta")
        .load(tables.table_path(feed_tables(contract).gold))
        .select(*[c.name for c in contract.columns], *META_COLUMNS)
    )


def reference_keys(spark: SparkSession, contract: FeedContract) -> dict[str, tuple[str, DataFrame]]:
    """`_ref_<i>` → (the checked column, the distinct keys of every existing target of reference i).
    A reference none of whose target tables exists yet is left out (its rule is then skipped)."""
    out = {}
    for i, ref in enumerate(contract.quality.references if contract.quality else []):
        alias = f"_ref_{i}"
        frames = [
            spark.read.format("delta")
            .load(tables.path(schema, table))
            .select(F.col(col).cast("string").alias(alias))
            for schema, table, col in ref.targets()
            if DeltaTable.isDeltaTable(spark, tables.path(schema, table))
        ]
        if frames:
            keys = reduce(DataFrame.unionByName, frames).where(F.col(alias).isNotNull()).distinct()
            out[alias] = (ref.column, keys)
    return out


def prepare(
    spark: SparkSession,
    contract: FeedContract,
    df: DataFrame,
    rules: list[Rule],
    references: dict[str, tuple[str, DataFrame]],
) -> tuple[DataFrame, list[DataFrame]]:
    """Add the flags the rules need and cache the frame every later pass reads: the columns GX checks,
    the flags and what a failing row is reported with (key, raw value, file, line). Returns it with
    every frame cached on the way, to unpersist once the run is written.

    On refine's own frame (it carries `_problems`) a rule that repeats a refine check reads its flag
    from there; its helper columns (region and admin-code joins) are then not needed."""
    from_refine = PROBLEMS in df.columns
    derived = {r.name for r in rules if from_refine and r.problem and r.flag}
    needs = {n for r in rules if r.name not in derived for n in r.needs}
    keep, cached = [c for c in df.columns if c != PROBLEMS], []
    # Keys are counted before the joins, so that the aggregate reads the key columns alone (refine's
    # frame counts them already).
    if "_key_count" in needs and "_key_count" not in keep:
        df, duplicated = with_key_counts(df, contract.primary_key)
        cached.append(duplicated)
        keep.append("_key_count")
    lookups = [r.lookup for r in rules if r.lookup and r.name not in derived]
    df = add_lookups(spark, df, contract, checks.GATE, lookups)
    for alias, (column, keys) in references.items():
        df = df.join(keys, F.col(column).cast("string") == F.col(alias), "left")
    flags = {
        r.flag: ~_reported(r.problem) if r.name in derived else ~F.coalesce(r.fails(), F.lit(False))
        for r in rules
        if r.flag and r.fails
    }
    prepared = df.select(*keep, *[v.alias(k) for k, v in flags.items()])
    if from_refine and not lookups and not references:
        # A projection of refine's cached rows: recomputed per pass faster than cached again (measured
        # at 1,000,000 rows: filling a second cache costs more than the passes that would read it).
        return prepared, cached
    prepared = prepared.persist(StorageLevel.MEMORY_AND_DISK)
    return prepared, [prepared, *cached]


def _reported(problem: tuple[str, str]) -> Column:
    """True where refine reported this (field, reason) problem for the row. `array_contains` of the
    struct is generated code; `exists` with a lambda is interpreted (measured over 1,000,000 rows and
    9 flags: 0.06 s against 0.39 s per pass)."""
    field, reason = problem
    return F.array_contains(PROBLEMS, F.struct(F.lit(field).alias("field"), F.lit(reason).alias("reason")))


def with_key_counts(df: DataFrame, key: list[str]) -> tuple[DataFrame, DataFrame]:
    """`df` with `_key_count`: how many rows share the row's key where more than one does, else null.
    One aggregate over the key columns alone (no window over whole rows); the duplicated keys, usually
    none, are cached and joined back (by broadcast while few). Returns the frame and the cached keys."""
    duplicated = (
        df.where(reduce(and_, [F.col(k).isNotNull() for k in key]))
        .groupBy(*key)
        .agg(F.count(F.lit(1)).alias("_key_count"))
        .where(F.col("_key_count") > 1)
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    found = duplicated.count()
    if not found:  # the usual case: nothing to join back
        return df.withColumn("_key_count", F.lit(None).cast("long")), duplicated
    few = found <= BROADCAST_KEYS
    return df.join(F.broadcast(duplicated) if few else duplicated, key, "left"), duplicated
