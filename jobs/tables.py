"""Delta tables of the lake: creation with our allowed properties and Chinese comments, commit metrics."""

from __future__ import annotations

from delta.tables import DeltaTable
from pyspark.sql import SparkSession
from pyspark.sql.types import StructField, StructType

from govlake.config import settings
from jobs.spark import TABLE_PROPERTIES


def path(schema: str, table: str) -> str:
    return settings().table_uri(schema, table)


def ensure(
    spark: SparkSession,
    schema: str,
    table: str,
    struct: StructType,
    comment: str,
    partition_by: tuple[str, ...] = (),
) -> DeltaTable:
    """Create the table if it does not exist (column comments come from each field's metadata)."""
    builder = DeltaTable.createIfNotExists(spark).location(path(schema, table)).comment(comment)
    for field in struct.fields:
        builder = builder.addColumn(
            field.name, field.dataType, nullable=field.nullable, comment=field.metadata.get("comment")
        )
    if partition_by:
        builder = builder.partitionedBy(*partition_by)
    for key, value in TABLE_PROPERTIES.items():
        builder = builder.property(key, value)
    return builder.execute()


def field(name: str, data_type, comment: str, nullable: bool = True) -> StructField:
    return StructField(name, data_type, nullable, {"comment": comment})


def last_commit_metrics(spark: SparkSession, schema: str, table: str) -> dict[str, int]:
    """operationMetrics of the table's latest commit (rows written, inserted, updated …)."""
    row = DeltaTable.forPath(spark, path(schema, table)).history(1).select("operationMetrics").first()
    metrics = (row.operationMetrics if row else None) or {}
    return {k: int(v) for k, v in metrics.items() if str(v).isdigit()}


def version(spark: SparkSession, schema: str, table: str) -> int:
    row = DeltaTable.forPath(spark, path(schema, table)).history(1).select("version").first()
    return int(row.version) if row else -1
