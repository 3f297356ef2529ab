"""governance.quality_result (scorecards) and governance.quality_failure (failing rows named)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from jobs import governance_tables, tables
from quality.runner import ExpectationResult

# schemas/governance/quality_result.yaml, quality_failure.yaml
SCHEMA, RESULT, FAILURE = governance_tables.SCHEMA, "quality_result", "quality_failure"


def result_struct() -> StructType:
    return governance_tables.struct(RESULT)


def failure_struct() -> StructType:
    return governance_tables.struct(FAILURE)


def ensure(spark: SparkSession) -> None:
    governance_tables.ensure(spark, RESULT)
    governance_tables.ensure(spark, FAILURE)


def write_failing(spark: SparkSession, failures: DataFrame) -> None:
    """Append a run's failing rows (one row per failing row and expectation)."""
    rows = failures.withColumn("recorded_at", F.lit(dt.datetime.now())).select(
        *result_names(failure_struct())
    )
    append = rows.write.format("delta").mode("append")
    tables.retry_conflicts(f"{SCHEMA}.{FAILURE} append", lambda: append.save(tables.path(SCHEMA, FAILURE)))


def write_results(spark: SparkSession, results: list[ExpectationResult]) -> None:
    """Append a run's scorecard: written after its failing rows, so that it appears only once they are
    named."""
    now = dt.datetime.now()
    rows = [r.as_dict() | {"evaluated_at": now} for r in results]
    append = tables.local_frame(spark, rows, result_struct()).write.format("delta").mode("append")
    tables.retry_conflicts(f"{SCHEMA}.{RESULT} append", lambda: append.save(tables.path(SCHEMA, RESULT)))


def result_names(struct: StructType) -> list[str]:
    return [f.name for f in struct.fields]


def results_for_run(spark: SparkSession, run_id: str) -> list[dict[str, Any]]:
    """Per-expectation results of one quality run (e.g. for OpenLineage data-quality facets)."""
    df = spark.read.format("delta").load(tables.path(SCHEMA, RESULT)).where(F.col("run_id") == run_id)
    return [r.asDict() for r in df.orderBy("stage", "expectation").collect()]
