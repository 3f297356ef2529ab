"""Gold tables → a thematic table: the contract's SELECT over gold tables, written whole with comments.

A theme is recomputed from the current gold state on every build (overwrite in one Delta commit), so a
re-run gives the same table; Delta keeps the earlier versions (time travel) for audit.
"""

from __future__ import annotations

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from jobs import tables
from schemas.datasets import GOLD
from schemas.libraries import ThemeTable


class ThemeError(ValueError):
    """The theme's SELECT does not produce the columns its contract declares."""


def build_theme(spark: SparkSession, theme: ThemeTable) -> int:
    for source in theme.sources:
        spark.read.format("delta").load(tables.path(GOLD, source)).createOrReplaceTempView(source)
    df = spark.sql(theme.sql)
    declared = [c.name for c in theme.columns]
    if df.columns != declared:
        raise ThemeError(
            f"schemas/libraries/{theme.table}.yaml: the select yields columns {df.columns}, "
            f"the contract declares {declared}"
        )
    labels = {c.name: c.label for c in theme.columns}
    struct = StructType([tables.field(f.name, f.dataType, labels[f.name]) for f in df.schema.fields])
    tables.ensure(spark, GOLD, theme.table, struct, theme.title)
    df = df.select(*[F.col(f"`{c}`").alias(c, metadata={"comment": labels[c]}) for c in declared])
    df.write.format("delta").mode("overwrite").save(tables.path(GOLD, theme.table))
    return int(tables.last_commit_metrics(spark, GOLD, theme.table).get("numOutputRows", 0))
