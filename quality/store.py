"""governance.quality_result (scorecards) and governance.quality_failure (failing rows named)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType, DoubleType, LongType, StringType, StructType, TimestampType

from jobs import tables
from quality.runner import ExpectationResult

SCHEMA, RESULT, FAILURE = "governance", "quality_result", "quality_failure"


def result_struct() -> StructType:
    f = tables.field
    return StructType(
        [
            f("run_id", StringType(), "质检运行号", nullable=False),
            f("feed", StringType(), "数据源（部门__数据集）", nullable=False),
            f("table", StringType(), "被检表", nullable=False),
            f("batch_id", StringType(), "批次号", nullable=False),
            f("stage", StringType(), "检查点（gate 入库前 / gold 发布后）", nullable=False),
            f("department", StringType(), "责任部门", nullable=False),
            f("dimension", StringType(), "质量维度（规范性/准确性/一致性/完整性/时效性）", nullable=False),
            f("expectation", StringType(), "规则名", nullable=False),
            f("expectation_type", StringType(), "GX 期望类型", nullable=False),
            f("column", StringType(), "字段"),
            f("severity", StringType(), "级别（critical 阻断 / warning 告警）", nullable=False),
            f("mostly", DoubleType(), "通过率阈值"),
            f("evaluated", LongType(), "检查数", nullable=False),
            f("failed", LongType(), "不合格数", nullable=False),
            f("score", DoubleType(), "得分（0–1）", nullable=False),
            f("success", BooleanType(), "是否通过", nullable=False),
            f("observed", StringType(), "观测值/样例"),
            f("evaluated_at", TimestampType(), "检查时间", nullable=False),
        ]
    )


def failure_struct() -> StructType:
    f = tables.field
    return StructType(
        [
            f("run_id", StringType(), "质检运行号", nullable=False),
            f("feed", StringType(), "数据源（部门__数据集）", nullable=False),
            f("table", StringType(), "被检表", nullable=False),
            f("batch_id", StringType(), "批次号", nullable=False),
            f("stage", StringType(), "检查点", nullable=False),
            f("department", StringType(), "责任部门", nullable=False),
            f("expectation", StringType(), "规则名", nullable=False),
            f("dimension", StringType(), "质量维度", nullable=False),
            f("severity", StringType(), "级别", nullable=False),
            f("column", StringType(), "字段"),
            f("key", StringType(), "主键值"),
            f("value", StringType(), "问题值"),
            f("source_file", StringType(), "来源文件"),
            f("line", LongType(), "来源文件行号"),
            f("recorded_at", TimestampType(), "记录时间", nullable=False),
        ]
    )


def ensure(spark: SparkSession) -> None:
    tables.ensure(
        spark, SCHEMA, RESULT, result_struct(), "数据质量检查结果（记分卡）", partition_by=("feed",)
    )
    tables.ensure(
        spark, SCHEMA, FAILURE, failure_struct(), "数据质量不合格记录（需部门整改）", partition_by=("feed",)
    )


def write_failing(spark: SparkSession, failures: DataFrame) -> None:
    """Append a run's failing rows (one row per failing row and expectation)."""
    failures.withColumn("recorded_at", F.lit(dt.datetime.now())).select(
        *result_names(failure_struct())
    ).write.format("delta").mode("append").save(tables.path(SCHEMA, FAILURE))


def write_results(spark: SparkSession, results: list[ExpectationResult]) -> None:
    """Append a run's scorecard: written after its failing rows, so that it appears only once they are
    named."""
    now = dt.datetime.now()
    rows = [r.as_dict() | {"evaluated_at": now} for r in results]
    tables.local_frame(spark, rows, result_struct()).write.format("delta").mode("append").save(
        tables.path(SCHEMA, RESULT)
    )


def result_names(struct: StructType) -> list[str]:
    return [f.name for f in struct.fields]


def results_for_run(spark: SparkSession, run_id: str) -> list[dict[str, Any]]:
    """Per-expectation results of one quality run (e.g. for OpenLineage data-quality facets)."""
    df = spark.read.format("delta").load(tables.path(SCHEMA, RESULT)).where(F.col("run_id") == run_id)
    return [r.asDict() for r in df.orderBy("stage", "expectation").collect()]
