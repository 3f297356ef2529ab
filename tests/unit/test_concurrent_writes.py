"""Two writers of one shared governance table at once (two feeds' runs): Delta's optimistic concurrency
lets one commit win; the loser's write is retried (jobs.tables.retry_conflicts), logged, never surfaced."""

from __future__ import annotations

import datetime as dt
import logging
import time

import pytest
from delta.tables import DeltaTable
from pyspark.sql import functions as F
from pyspark.sql.types import StringType
from threads import at_once

from jobs import batch_log, tables


@pytest.fixture(scope="module")
def spark():
    from jobs.spark import get_spark, stop_spark

    yield get_spark("govlake-tests")
    stop_spark()


def _logged(spark):
    return spark.read.format("delta").load(tables.path(batch_log.SCHEMA, batch_log.TABLE))


def test_two_feeds_first_batch_log_entries_at_once_both_land(spark, fresh_home, caplog):
    """A fresh installation, two feeds' first stages logging at once: both create governance.batch_log
    (two version-0 commits race), the loser retries, finds the winner's table and appends to it."""
    caplog.set_level(logging.WARNING, logger="jobs.tables")
    now = dt.datetime.now()
    feeds = ("unit__feed_a", "unit__feed_b", "unit__feed_c")
    at_once(
        *[lambda f=f: batch_log.record(spark, batch_log.entry(f, "b1", "bronze", "ok", now)) for f in feeds]
    )
    assert sorted(r.feed for r in _logged(spark).collect()) == list(feeds)


def test_merge_losing_to_a_concurrent_append_is_retried(spark, fresh_home, caplog):
    """A MERGE into governance.batch_log reads the table; an append committed meanwhile (another feed's
    log entry) makes Delta refuse the MERGE's commit (ConcurrentAppendException): it is retried and both
    rows land."""
    caplog.set_level(logging.WARNING, logger="jobs.tables")
    now = dt.datetime.now()
    batch_log.record(spark, batch_log.entry("unit__seed", "b0", "bronze", "ok", now))
    path = tables.path(batch_log.SCHEMA, batch_log.TABLE)
    slow = F.udf(lambda v: time.sleep(1.5) or v, StringType())  # the MERGE reads its source slowly
    merged = {"n": 0}

    def merge() -> None:
        merged["n"] += 1
        row = batch_log.entry("unit__merged", "b1", "gold", "ok", now)
        source = tables.local_frame(spark, [row], batch_log.struct()).withColumn("feed", slow("feed"))
        on = "t.feed = s.feed AND t.batch_id = s.batch_id AND t.stage = s.stage"
        DeltaTable.forPath(spark, path).alias("t").merge(
            source.alias("s"), on
        ).whenNotMatchedInsertAll().execute()

    def append() -> None:
        time.sleep(0.5)  # while the MERGE reads
        batch_log.record(spark, batch_log.entry("unit__appended", "b1", "bronze", "ok", now))

    at_once(lambda: tables.retry_conflicts("governance.batch_log merge", merge), append)
    assert merged["n"] >= 2, "the MERGE did not lose the race: no conflict to retry"
    assert any("concurrent commit" in r.getMessage() for r in caplog.records)
    assert sorted(r.feed for r in _logged(spark).collect()) == [
        "unit__appended",
        "unit__merged",
        "unit__seed",
    ]
