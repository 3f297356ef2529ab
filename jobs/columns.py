"""How a contract's columns live in silver: Spark types, the cleaned and typed value of delivered text,
and the silver and quarantine tables' layouts."""

from __future__ import annotations

from pyspark.sql import Column, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DataType,
    DateType,
    DecimalType,
    DoubleType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from jobs import tables
from schemas.checks import UPPER_CASE_KINDS
from schemas.contracts import Column as ContractColumn
from schemas.contracts import FeedContract
from schemas.datasets import QUARANTINE, SILVER

SPARK_TYPES: dict[str, DataType] = {
    "string": StringType(),
    "int": IntegerType(),
    "long": LongType(),
    "double": DoubleType(),
    "decimal": DecimalType(20, 4),
    "date": DateType(),
    "timestamp": TimestampType(),
    "boolean": BooleanType(),
}


# The lineage columns bronze and silver add to every row (all required), with their labels.
META: dict[str, tuple[DataType, str]] = {
    "_batch_id": (StringType(), "批次号"),
    "_source_file": (StringType(), "来源文件"),
    "_source_checksum": (StringType(), "来源文件 SHA-256"),
    "_line": (LongType(), "来源文件行号"),
    "_row_hash": (StringType(), "原始行 SHA-256"),
    "_record_hash": (StringType(), "业务字段 SHA-256（变更检测）"),
    "_ingested_at": (TimestampType(), "入湖时间"),
}


def meta_fields(*names: str, labels: dict[str, str] | None = None) -> list[StructField]:
    """The named lineage columns, in that order; `labels` replaces some of their labels."""
    return [tables.field(n, META[n][0], (labels or {}).get(n, META[n][1]), nullable=False) for n in names]


def silver_struct(contract: FeedContract) -> StructType:
    columns = [tables.field(c.name, SPARK_TYPES[c.type], c.label, c.nullable) for c in contract.columns]
    meta = meta_fields("_batch_id", "_source_file", "_line", "_row_hash", "_record_hash", "_ingested_at")
    return StructType(columns + meta)


def quarantine_struct() -> StructType:
    f = tables.field
    problem = StructType([StructField("field", StringType()), StructField("reason", StringType())])
    return StructType(
        [
            f("_feed", StringType(), "数据源（部门__数据集）", nullable=False),
            f("_batch_id", StringType(), "批次号", nullable=False),
            f("source_file", StringType(), "来源文件", nullable=False),
            f("line", LongType(), "来源文件行号", nullable=False),
            f("field", StringType(), "首个问题字段", nullable=False),
            f("reason", StringType(), "首个问题原因代码", nullable=False),
            f("problems", ArrayType(problem), "全部问题（字段、原因代码）"),
            f("raw", StringType(), "原始记录（JSON）"),
            f("row_hash", StringType(), "原始行 SHA-256"),
            f("quarantined_at", TimestampType(), "隔离时间", nullable=False),
        ]
    )


def clean(c: ContractColumn) -> Column:
    value = F.trim(F.col(c.name))
    if UPPER_CASE_KINDS & set(c.checks):
        value = F.upper(value)
    return F.when(value == "", None).otherwise(value)


def typed(c: ContractColumn, clean: Column) -> Column:
    if c.type == "string":
        return clean
    if c.type in ("date", "timestamp") and c.format:
        ts = F.try_to_timestamp(clean, F.lit(c.format))
        return F.to_date(ts) if c.type == "date" else ts
    return clean.try_cast(SPARK_TYPES[c.type])


def ensure_tables(spark: SparkSession, contract: FeedContract) -> None:
    tables.ensure(
        spark,
        SILVER,
        contract.key,
        silver_struct(contract),
        f"{contract.department_name} {contract.title}（标准层，已校验）",
        partition_by=("_batch_id",),
    )
    tables.ensure(
        spark,
        SILVER,
        QUARANTINE,
        quarantine_struct(),
        "隔离区：未通过校验的记录及原因",
        partition_by=("_feed",),
    )
