"""Quality gates on the real engines: GX on Spark between silver and gold, failing rows in Delta, read
back through Trino. One Airflow run shows the DAG task failing; the rest calls the jobs in-process.

In-process tests use a copy of the household contract under another feed and gold table, so that
gold.population_person is touched only by the blocked Airflow run (which must not change it)."""

from __future__ import annotations

import csv
import datetime as dt

import pytest
from pyspark.sql import functions as F

from govlake.airflow_runner import run_dag
from infra.settings import settings
from jobs import tables
from jobs.ingest import ingest
from jobs.preflight import batch_dir, check_delivery
from jobs.publish import publish
from jobs.refine import refine
from jobs.spark import get_spark
from quality import store
from quality.gate import QualityGateFailed, check_batch, check_gold, validate_batch
from schemas.contracts import Target, get_contract
from schemas.datasets import GOLD
from schemas.quality import QualityBlock
from tools.synthetic.household import population, write_delivery

HOUSEHOLD = get_contract("public_security/household_register")
SEED, PERSONS, BAD = 7, 2000, 0.05  # 100 bad IDs (5%), and 100 of each other defect kind
QA = HOUSEHOLD.model_copy(
    update={
        "feed": "household_register_qa",
        "target": Target(library="population", table="quality_test_person", title="质检测试"),
    }
)
REF_TABLE = "quality_test_population"  # the "population library" a certificate feed must match
REF_OTHER = "quality_test_newborns"  # a second place the ID may be found (`or_in`)
REFERENCE = {
    "column": "resident_id",
    "table": f"gold.{REF_TABLE}",
    "or_in": [f"gold.{REF_OTHER}.rid", "gold.quality_test_not_built_yet.resident_id"],
    "severity": "warning",
}
REF_RULE = f"resident_id.exists_in_gold_{REF_TABLE}_or_gold_{REF_OTHER}_or_gold_quality_test_not_built_yet"
NAME_RULE = {  # a custom expectation whose failing rows are named too
    "type": "expect_column_value_lengths_to_be_between",
    "kwargs": {"column": "name", "min_value": 2, "max_value": 2},
    "name": "name.two_characters",
    "dimension": "conformity",
    "severity": "warning",
}


def contract_with(**block):
    return QA.model_copy(update={"quality": QualityBlock.model_validate(block)})


def deliver(contract, batch: str, rate: float = BAD, seed: int = SEED, persons: int = PERSONS):
    people = population(seed, persons)
    return people, write_delivery(contract, settings().landing, batch, people, rate, None, seed)


def to_silver(contract, batch: str) -> None:
    spark, s = get_spark(), settings()
    files = check_delivery(contract, batch_dir(s.landing, contract, batch), s.home / "staging" / batch)
    ingest(spark, contract, batch, files)
    refine(spark, contract, batch).release()


def gold_version(contract) -> int:
    return tables.version(get_spark(), GOLD, contract.target.table)


def register_tables(contract, *more: tuple[str, str]) -> None:
    from catalog.trino_tables import register

    names = [(store.SCHEMA, store.RESULT), (store.SCHEMA, store.FAILURE), ("silver", "quarantine")]
    register([*names, ("silver", contract.key), *more])


@pytest.fixture(scope="module")
def qa_batch(trino_server):
    """A 5%-bad delivery of the QA feed, in silver + quarantine, with a small gold table already there."""
    spark = get_spark()
    deliver(QA, "q0", rate=0.0, seed=SEED + 1, persons=200)  # other people, already in gold
    to_silver(QA, "q0")
    check_batch(spark, QA, "q0")
    publish(spark, QA, "q0")
    people, delivery = deliver(QA, "q1")
    to_silver(QA, "q1")
    # The population library the reference check looks in: everyone but the first 50 persons; the
    # first 20 of those are in a second table.
    ref = spark.createDataFrame([(p.resident_id,) for p in people[50:]], "resident_id string")
    ref.write.format("delta").mode("overwrite").save(tables.path(GOLD, REF_TABLE))
    other = spark.createDataFrame([(p.resident_id,) for p in people[:20]], "rid string")
    other.write.format("delta").mode("overwrite").save(tables.path(GOLD, REF_OTHER))
    register_tables(QA)
    return people, delivery


def test_critical_failure_at_1_percent_blocks_and_gold_is_unchanged(qa_batch):
    before = gold_version(QA)
    with pytest.raises(QualityGateFailed) as exc:
        check_batch(get_spark(), contract_with(critical_mostly=0.99), "q1")
    message = str(exc.value)
    assert "silver.public_security__household_register_qa: resident_id.check_digit" in message
    assert "failed 100 of 2100 rows" in message and "allowed 1.00%" in message
    assert gold_version(QA) == before


def test_raised_threshold_publishes_with_bad_rows_quarantined_and_named(qa_batch, sql):
    people, delivery = qa_batch
    spark = get_spark()
    contract = contract_with(
        critical_mostly=0.85,
        freshness={"column": "registered_on", "max_age_days": 36500},
        references=[REFERENCE],
        expectations=[NAME_RULE],
    )
    run = check_batch(spark, contract, "q1")
    assert not run.blocking
    before = gold_version(QA)
    published = publish(spark, contract, "q1")
    assert published.version == before + 1
    clean = PERSONS - 3 * round(PERSONS * BAD)
    assert (published.inserted, published.updated) == (clean, 0)
    gold_rows = spark.read.format("delta").load(tables.path(GOLD, QA.target.table))
    assert gold_rows.where(F.col("_batch_id") == "q1").count() == clean

    def lines(expectation: str) -> list[int]:
        rows = sql(
            "SELECT line FROM lake.governance.quality_failure "
            "WHERE run_id = ? AND expectation = ? ORDER BY 1",
            [run.run_id, expectation],
        )
        return [r[0] for r in rows]

    assert lines("resident_id.check_digit") == delivery.defects["BAD_CHECK_DIGIT"]
    assert lines("admin_code.admin_division") == delivery.defects["UNKNOWN_ADMIN_CODE"]
    assert lines("name.not_null") == delivery.defects["MISSING_FIELD"]
    # Uniqueness names every row sharing a key: the injected copies and the rows they copy.
    dup_keys = sql(
        "SELECT DISTINCT key FROM lake.governance.quality_failure WHERE run_id = ? AND expectation = ?",
        [run.run_id, "primary_key.unique"],
    )
    with delivery.files[0].open(encoding="utf-8") as fh:
        by_line = {n: row for n, row in enumerate(csv.DictReader(fh), start=2)}
    assert {r[0] for r in dup_keys} == {by_line[n]["公民身份号码"] for n in delivery.defects["DUPLICATE_KEY"]}
    bad_id = sql(
        "SELECT key, value, dimension, severity, source_file FROM lake.governance.quality_failure "
        "WHERE run_id = ? AND expectation = 'resident_id.check_digit' AND line = ?",
        [run.run_id, delivery.defects["BAD_CHECK_DIGIT"][0]],
    )
    line = delivery.defects["BAD_CHECK_DIGIT"][0]
    assert bad_id[0][:4] == [by_line[line]["公民身份号码"]] * 2 + ["accuracy", "critical"]
    # Cross-table check: IDs in neither table (30 left out, plus the broken check digits); the third
    # target does not exist yet and is left out.
    known = {p.resident_id for p in people[50:] + people[:20]}
    missing = sorted(n for n, row in by_line.items() if row["公民身份号码"] not in known)
    assert lines(REF_RULE) == missing
    # A custom expectation's failing rows: names longer than two characters (missing names skipped).
    assert lines("name.two_characters") == sorted(n for n, row in by_line.items() if len(row["姓名"]) > 2)
    # The scorecard: one row per expectation with evaluated, failed and score.
    card = {
        r[0]: r[1:]
        for r in sql(
            "SELECT expectation, dimension, evaluated, failed, score, success "
            "FROM lake.governance.quality_result WHERE run_id = ? AND stage = 'gate'",
            [run.run_id],
        )
    }
    assert card["resident_id.check_digit"] == ["accuracy", 2100, 100, pytest.approx(1 - 100 / 2100), True]
    assert card[REF_RULE][0] == "consistency"
    assert card[REF_RULE][4] is False  # a warning, not a block
    assert card["name.two_characters"][:3] == ["conformity", 2100, len(lines("name.two_characters"))]
    assert {r[0] for r in card.values()} == {
        "conformity",
        "accuracy",
        "consistency",
        "completeness",
        "timeliness",
    }
    # Bad rows stayed in quarantine, never in gold.
    quarantined = sql(
        "SELECT count(*) FROM lake.silver.quarantine WHERE _feed = ? AND _batch_id = 'q1'", [QA.key]
    )
    assert quarantined == [[4 * round(PERSONS * BAD)]]

    # Gold check after publish; reports and Data Docs land under the installation home.
    gold_run = check_gold(spark, contract_with(critical_mostly=0.85), "q1", run.run_id)
    assert not gold_run.blocking and gold_run.failing_rows == 0
    assert (run.docs).exists() and gold_run.docs.exists()
    page = (settings().home / "quality" / "reports" / "public_security" / "index.html").read_text()
    assert page.count("<svg") == 5 and "准确性" in page
    fix_list = settings().home / "quality" / "reports" / "public_security" / "fix_list.csv"
    with fix_list.open(encoding="utf-8-sig") as fh:
        fixes = [r for r in csv.DictReader(fh) if r["batch_id"] == "q1"]
    assert len(fixes) == run.failing_rows


def test_validation_in_the_silver_step_equals_validation_of_silver_as_stored(qa_batch, sql):
    """The DAG validates refine's cached frame; reading silver + quarantine back gives the same verdict,
    counts and failing rows (file, line, key) for every expectation."""
    spark = get_spark()
    contract = contract_with(critical_mostly=0.85, references=[REFERENCE], expectations=[NAME_RULE])
    refined = refine(spark, contract, "q1")
    in_step = [validate_batch(spark, contract, "q1", refined.delivered())]
    refined.release()
    stored = validate_batch(spark, contract, "q1")

    def outcome(run):
        return {r.expectation: (r.evaluated, r.failed, r.success, r.observed) for r in run.results}

    assert outcome(in_step[0]) == outcome(stored)
    assert in_step[0].results[0].evaluated == PERSONS + round(PERSONS * BAD)  # every delivered row
    named = [
        sql(
            "SELECT expectation, key, source_file, line FROM lake.governance.quality_failure "
            "WHERE run_id = ? ORDER BY 1, 4, 2",
            [run.run_id],
        )
        for run in (in_step[0], stored)
    ]
    assert named[0] == named[1] and len(named[0]) == stored.failing_rows > 0


def test_stale_feed_fails_timeliness(qa_batch, sql):
    contract = contract_with(critical_mostly=0.85, freshness={"column": "registered_on", "max_age_days": 30})
    stale = dt.date(2027, 6, 1)  # the newest registration in the delivery is from November 2026
    run = check_batch(get_spark(), contract, "q1", as_of=stale)
    fresh = next(r for r in run.results if r.expectation == "registered_on.freshness")
    assert (fresh.dimension, fresh.success, fresh.score, fresh.severity) == (
        "timeliness",
        False,
        0.0,
        "warning",
    )
    assert "2026-11" in fresh.observed
    row = sql(
        "SELECT success, score FROM lake.governance.quality_result "
        "WHERE run_id = ? AND dimension = 'timeliness'",
        [run.run_id],
    )
    assert row == [[False, 0.0]]
    on_time = check_batch(get_spark(), contract, "q1", as_of=dt.date(2026, 11, 23))
    assert next(r for r in on_time.results if r.expectation == "registered_on.freshness").success


def test_blocked_delivery_fails_its_airflow_task_naming_the_expectation(trino_server, sql):
    spark = get_spark()
    if not (settings().warehouse_dir / GOLD / HOUSEHOLD.target.table).exists():
        deliver(HOUSEHOLD, "20261130", rate=0.0)
        to_silver(HOUSEHOLD, "20261130")
        publish(spark, HOUSEHOLD, "20261130")
    before = gold_version(HOUSEHOLD)
    deliver(HOUSEHOLD, "20261201")
    result = run_dag(HOUSEHOLD.dag_id, {"batch_id": "20261201"}, echo=False)
    assert result.state == "failed"
    assert "QualityGateFailed" in result.output
    assert (
        "resident_id.check_digit (expect_column_values_to_be_in_set, accuracy) failed 100 of 2100"
        in result.output
    )
    assert gold_version(HOUSEHOLD) == before
    register_tables(HOUSEHOLD, ("governance", "batch_log"))
    silver = sql(f"SELECT count(*) FROM lake.silver.{HOUSEHOLD.key} WHERE _batch_id = '20261201'")
    assert silver == [[PERSONS - 3 * round(PERSONS * BAD)]]  # the batch stays in silver for inspection
    logged = sql(
        "SELECT status, message FROM lake.governance.batch_log "
        "WHERE batch_id = '20261201' AND stage = 'quality_gate'"
    )
    assert logged[0][0] == "blocked" and "resident_id.check_digit" in logged[0][1]
    named = sql(
        "SELECT count(*) FROM lake.governance.quality_failure WHERE batch_id = '20261201' "
        "AND expectation = 'resident_id.check_digit'"
    )
    assert named == [[100]]
