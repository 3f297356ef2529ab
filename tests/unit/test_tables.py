"""Lake tables: small appends cost one Spark job; timestamp partition columns are refused."""

import datetime as dt

import pytest
from pyspark.sql.types import StringType, StructType, TimestampType

from jobs import batch_log, tables


@pytest.fixture(scope="module")
def spark():
    from jobs.spark import get_spark, stop_spark

    yield get_spark("govlake-tests")
    stop_spark()


def test_small_append_runs_one_spark_job(spark):
    """No state reconstruction after a commit (the session's time zone is not UTC). Of three appends one
    may also write Delta's checkpoint (every 10th commit of the table, which earlier tests also write)."""
    assert spark.conf.get("spark.sql.session.timeZone") != "UTC"
    tracker = spark.sparkContext.statusTracker()
    batch_log.record(spark, batch_log.entry("unit__tables", "b0", "silver", "ok", dt.datetime.now()))
    jobs = []
    for i in range(1, 4):
        before = set(tracker.getJobIdsForGroup(None))
        batch_log.record(spark, batch_log.entry("unit__tables", f"b{i}", "silver", "ok", dt.datetime.now()))
        jobs.append(len(set(tracker.getJobIdsForGroup(None)) - before))
    assert sorted(jobs)[:2] == [1, 1], jobs
    rows = spark.read.format("delta").load(tables.path(batch_log.SCHEMA, batch_log.TABLE))
    assert rows.where("feed = 'unit__tables'").count() == 4


def test_timestamp_partition_column_is_refused(spark):
    struct = StructType([tables.field("at", TimestampType(), "时间"), tables.field("v", StringType(), "值")])
    with pytest.raises(ValueError, match=r"governance\.unit_ts: timestamp partition column\(s\) at"):
        tables.ensure(spark, "governance", "unit_ts", struct, "测试", partition_by=("at",))
