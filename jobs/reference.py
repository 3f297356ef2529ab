"""GB/T 2260 reference joins for the checks that need them (schemas.checks `lookup`): resident-ID regions
and current administrative-division codes, against a local relation in the JVM."""

from __future__ import annotations

from collections.abc import Iterable

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType, StringType, StructField, StructType

from jobs.tables import local_frame
from schemas.checks import Lookup, View, lookup_column
from schemas.contracts import FeedContract
from schemas.divisions import all_divisions


def divisions_frame(spark: SparkSession) -> DataFrame:
    """GB/T 2260 reference: every code ever issued, with whether it is still in use. A local relation in
    the JVM (`tables.local_frame`): a list of Python rows would need a Python worker in every job that
    joins it."""
    struct = StructType(
        [StructField(n, StringType()) for n in ("code", "name", "province", "level")]
        + [StructField("current", BooleanType())]
    )
    rows = [{f.name: getattr(d, f.name) for f in struct.fields} for d in all_divisions()]
    return local_frame(spark, rows, struct)


def add_lookups(
    spark: SparkSession,
    df: DataFrame,
    contract: FeedContract,
    view: View,
    lookups: Iterable[tuple[Lookup, str]],
) -> DataFrame:
    """`df` with one helper column per (kind, column): the matched code, null where none matched. A region
    is the first six characters of an ID among every code ever issued; a division, a current code."""
    wanted = sorted(set(lookups))
    if not wanted:
        return df
    divisions = divisions_frame(spark)
    for kind, name in wanted:
        text, alias = view.text(contract.column(name)), lookup_column(kind, name)
        if kind == "region":
            known = divisions.select(F.col("code").alias(alias))
            df = df.join(F.broadcast(known), F.substring(text, 1, 6) == F.col(alias), "left")
        else:
            current = divisions.where("current").select(F.col("code").alias(alias))
            df = df.join(F.broadcast(current), text == F.col(alias), "left")
    return df
