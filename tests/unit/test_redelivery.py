"""Issue 20, case 5: a corrected re-delivery of an already-ingested batch (same file name, new content).
The corrected rows replace the earlier delivery's through every layer: silver, quarantine and gold hold
nothing of the earlier version (a key it alone had goes back to the batch before, or out of gold), while
bronze keeps both versions, the earlier one marked `_superseded`."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from govlake import pipeline
from infra.settings import settings
from jobs import tables
from schemas.contracts import get_contract
from schemas.datasets import feed_tables
from tools.synthetic.household import population, write_delivery

HOUSEHOLD = get_contract("public_security/household_register")
LAYERS = feed_tables(HOUSEHOLD)
Row = dict[str, str]


@pytest.fixture
def spark(fresh_home: Path) -> Iterator[SparkSession]:
    """A Spark session over this test's own warehouse: its batches never reach the session's gold tables."""
    from jobs.spark import get_spark, stop_spark  # lazy: Spark only for this module

    stop_spark()  # a session of an earlier test would keep its own lineage file
    yield get_spark("govlake-tests")
    stop_spark()


def _people(n: int) -> list[Row]:
    """`n` valid household rows by contract column name (the generator's own CSV, read back)."""
    scratch = settings().home / "scratch"
    d = write_delivery(HOUSEHOLD, scratch, "b0", population(2020, n), defect_rate=0, seed=1)
    with d.files[0].open(encoding="utf-8", newline="") as fh:
        return [
            dict(zip([c.name for c in HOUSEHOLD.columns], r, strict=True)) for r in list(csv.reader(fh))[1:]
        ]


def _deliver(batch: str, rows: list[Row]) -> Path:
    """The batch's one file, always named the same, and its manifest (written last, as senders do)."""
    folder = settings().landing / HOUSEHOLD.department / HOUSEHOLD.feed / batch
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"household_{batch}.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow([c.header for c in HOUSEHOLD.columns])
        writer.writerows([r[c.name] for c in HOUSEHOLD.columns] for r in rows)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest = {"batch_id": batch, "files": [{"name": path.name, "sha256": sha, "rows": len(rows)}]}
    (folder / "_delivery.json").write_text(json.dumps(manifest))
    return path


def _run(batch: str) -> None:
    state = pipeline.preflight(HOUSEHOLD.key, batch)
    for stage in (pipeline.bronze, pipeline.silver, pipeline.gold):
        state = stage(state)


def _edit(row: Row, **changes: str) -> Row:
    return row | changes


def _layer(spark: SparkSession, table, batch: str | None = None):
    df = spark.read.format("delta").load(tables.table_path(table))
    return df if batch is None else df.where(F.col("_batch_id") == batch)


def test_a_corrected_redelivery_replaces_the_earlier_version_in_every_layer(spark):
    p = _people(10)
    _deliver("b1", p[:5])
    _run("b1")
    first = [
        _edit(p[0], address=p[0]["address"] + "一号"),  # changed by b2, then withdrawn by the correction
        _edit(p[1], address=p[1]["address"] + "二号"),  # changed by b2, corrected again
        p[2],
        p[5],  # new in b2, withdrawn by the correction
        p[6],
        _edit(p[7], name=""),  # quarantined in b2, fixed by the correction
    ]
    path = _deliver("b2", first)
    _run("b2")
    corrected = [
        _edit(p[1], address=p[1]["address"] + "三号"),
        p[2],
        _edit(p[6], name=p[6]["name"] + "更"),
        p[7],
        p[8],  # added by the correction
        _edit(p[9], name=""),  # quarantined, line 7 of the corrected file
    ]
    assert _deliver("b2", corrected) == path  # same file name, new content
    _run("b2")

    fields = ("resident_id", "name", "address")
    silver = {tuple(r[f] for f in fields) for r in _layer(spark, LAYERS.silver, "b2").collect()}
    assert silver == {tuple(r[f] for f in fields) for r in corrected[:5]}
    assert _layer(spark, LAYERS.silver, "b2").count() == 5
    quarantine = _layer(spark, LAYERS.quarantine, "b2").where(F.col("_feed") == HOUSEHOLD.key).collect()
    assert [(q.line, q.reason) for q in quarantine] == [(7, "MISSING_FIELD")]

    gold = {r.resident_id: r for r in _layer(spark, LAYERS.gold).collect()}
    assert set(gold) == {r["resident_id"] for r in p[:9]} - {p[5]["resident_id"]}
    assert (gold[p[0]["resident_id"]].address, gold[p[0]["resident_id"]]._batch_id) == (p[0]["address"], "b1")
    assert gold[p[1]["resident_id"]].address == corrected[0]["address"]
    assert gold[p[6]["resident_id"]].name == corrected[2]["name"]
    assert gold[p[7]["resident_id"]].name == p[7]["name"]

    bronze = _layer(spark, LAYERS.bronze, "b2").groupBy("_source_file", "_superseded").count().collect()
    assert sorted((r._superseded, r["count"]) for r in bronze) == [(False, 6), (True, 6)]
    assert len({r._source_file for r in bronze}) == 1

    from deltalake import DeltaTable  # lazy: delta-rs, an independent reader of the same tables

    def rows(table, **where: object) -> int:
        t = DeltaTable(tables.table_path(table)).to_pyarrow_table()
        return sum(all(r[k] == v for k, v in where.items()) for r in t.select(list(where)).to_pylist())

    assert rows(LAYERS.bronze, _batch_id="b2", _superseded=True) == 6
    assert rows(LAYERS.bronze, _batch_id="b2", _superseded=False) == 6
    assert rows(LAYERS.silver, _batch_id="b2") == 5
    assert rows(LAYERS.quarantine, _batch_id="b2", _feed=HOUSEHOLD.key) == 1
    assert DeltaTable(tables.table_path(LAYERS.gold)).to_pyarrow_table().num_rows == len(gold) == 8

    # The same corrected file once more: nothing written; then the state of a run that died between its
    # append and its marking (both versions unmarked): refine still reads the correction, and the next
    # ingest of the batch marks the earlier version again.
    from delta.tables import DeltaTable as SparkDelta  # lazy: as above

    bronze_table = SparkDelta.forPath(spark, tables.table_path(LAYERS.bronze))
    version = bronze_table.history(1).first().version
    _run("b2")
    assert bronze_table.history(1).first().version == version
    log = spark.read.format("delta").load(tables.path("governance", "batch_log"))
    last = log.where("batch_id = 'b2' AND stage IN ('bronze', 'gold')").orderBy(F.desc("finished_at"))
    assert [(r.stage, r.status, r.inserted, r.updated) for r in last.limit(2).collect()] == [
        ("gold", "ok", 0, 0),
        ("bronze", "skipped", None, None),
    ]
    stale = _layer(spark, LAYERS.bronze, "b2").where("_superseded").select("_source_checksum").distinct()
    earlier = [r[0] for r in stale.collect()]
    assert len(earlier) == 1
    bronze_table.update(F.col("_batch_id") == "b2", {"_superseded": F.lit(False)})
    from jobs.refine import refine  # lazy: as above

    refine(spark, HOUSEHOLD, "b2").release()
    assert {tuple(r[f] for f in fields) for r in _layer(spark, LAYERS.silver, "b2").collect()} == silver
    pipeline.bronze(pipeline.preflight(HOUSEHOLD.key, "b2"))
    assert [r[0] for r in stale.collect()] == earlier
