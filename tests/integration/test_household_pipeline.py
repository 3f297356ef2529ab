"""The walking skeleton end to end on the real engines: Airflow runs the DAG, Spark + Delta write
bronze/silver/gold, Trino answers. The tests run in file order; each delivery builds on the last."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from govlake import engine_client
from govlake.airflow_runner import run_dag
from govlake.stages import STAGES
from infra.settings import settings
from schemas.contracts import get_contract
from tools.synthetic.household import population, write_delivery

CONTRACT = get_contract("public_security/household_register")
SEED, PERSONS, RATE = 20261123, 4000, 0.005  # 20 defects of each kind
DAY1, DAY2, BROKEN = "20261101", "20261102", "20261103"
FEED = CONTRACT.key


def deliver(batch: str, moved: float = 0.0, rate: float = RATE, encoding: str | None = None):
    people = population(SEED, PERSONS, moved)
    return people, write_delivery(CONTRACT, settings().landing, batch, people, rate, encoding, SEED)


def run(batch: str):
    return run_dag(CONTRACT.dag_id, {"batch_id": batch}, echo=False)


def one(sql, statement: str, params: list | None = None):
    return sql(statement, params)[0][0]


@pytest.fixture(scope="module")
def day1(trino_server):
    people, delivery = deliver(DAY1)
    before = engine_client.status()
    result = run(DAY1)
    assert result.state == "success", result.output[-4000:]
    after = engine_client.status()
    assert before and after and after["pid"] == before["pid"]  # every stage on the one shared engine
    assert after["served"] - before["served"] == len(STAGES) and after["failed"] == before["failed"]
    return people, delivery


def test_first_delivery_reconciles_and_quarantines_exactly_the_defects(day1, sql):
    _, delivery = day1
    bronze = one(sql, f"SELECT count(*) FROM lake.bronze.{FEED} WHERE _batch_id = ?", [DAY1])
    silver = one(sql, f"SELECT count(*) FROM lake.silver.{FEED} WHERE _batch_id = ?", [DAY1])
    quarantined = one(
        sql, "SELECT count(*) FROM lake.silver.quarantine WHERE _feed = ? AND _batch_id = ?", [FEED, DAY1]
    )
    assert bronze == delivery.rows == PERSONS + 20
    assert bronze == silver + quarantined
    got = sql(
        "SELECT reason, line FROM lake.silver.quarantine WHERE _feed = ? AND _batch_id = ?", [FEED, DAY1]
    )
    by_reason: dict[str, list[int]] = {}
    for reason, line in got:
        by_reason.setdefault(reason, []).append(line)
    assert {k: sorted(v) for k, v in by_reason.items()} == delivery.defects
    manifest = json.loads((delivery.directory / "_defects.json").read_text())
    assert manifest["counts"] == {k: len(v) for k, v in by_reason.items()}
    row = sql(
        "SELECT source_file, field, raw FROM lake.silver.quarantine WHERE reason = 'MISSING_FIELD' LIMIT 1"
    )[0]
    assert row[0].endswith(f"{DAY1}/{delivery.files[0].name}") and row[1] == "name"
    assert json.loads(row[2])["resident_id"]


def test_gold_in_trino_matches_spark_and_the_generator(day1, sql):
    people, delivery = day1
    bad_lines = {n for k, v in delivery.defects.items() if k != "DUPLICATE_KEY" for n in v}
    valid = [p for i, p in enumerate(people) if i + 2 not in bad_lines]
    spark_gold = sql(
        "SELECT inserted, updated FROM lake.governance.batch_log "
        "WHERE feed = ? AND batch_id = ? AND stage = 'gold'",
        [FEED, DAY1],
    )
    assert spark_gold == [[len(valid), 0]]
    assert one(sql, "SELECT count(*) FROM lake.gold.population_person") == len(valid)
    assert one(sql, "SELECT count(DISTINCT resident_id) FROM lake.gold.population_person") == len(valid)
    by_gender = dict(sql("SELECT gender, count(*) FROM lake.gold.population_person GROUP BY gender"))
    assert by_gender == dict(Counter(p.gender for p in valid))
    oldest = one(sql, "SELECT min(birth_date) FROM lake.gold.population_person")
    assert oldest == min(p.birth_date for p in valid)
    wuhan = one(sql, "SELECT count(*) FROM lake.gold.population_person WHERE admin_code LIKE '4201%'")
    assert wuhan == sum(p.admin_code.startswith("4201") for p in valid)


def test_chinese_labels_are_column_comments_in_trino(day1, sql):
    comments = dict(
        sql(
            "SELECT column_name, comment FROM lake.information_schema.columns "
            "WHERE table_schema = 'gold' AND table_name = 'population_person'"
        )
    )
    for c in CONTRACT.columns:
        assert comments[c.name] == c.label
    schemas = {r[0] for r in sql("SHOW SCHEMAS FROM lake")}
    assert {"bronze", "silver", "gold", "governance"} <= schemas


def test_redelivering_the_same_file_adds_nothing(day1, sql):
    before = one(sql, f"SELECT count(*) FROM lake.bronze.{FEED}")
    result = run(DAY1)
    assert result.state == "success", result.output[-4000:]
    assert one(sql, f"SELECT count(*) FROM lake.bronze.{FEED}") == before
    stages = sql(
        "SELECT stage, status, inserted, updated FROM lake.governance.batch_log "
        "WHERE feed = ? AND batch_id = ? AND stage NOT LIKE 'quality%' ORDER BY finished_at DESC LIMIT 3",
        [FEED, DAY1],
    )
    assert stages[0] == ["gold", "ok", 0, 0]
    assert ["bronze", "skipped", None, None] in stages


def test_second_delivery_updates_moved_people_without_duplicates(day1, sql):
    people1, delivery1 = day1
    people2, _ = deliver(DAY2, moved=0.01, rate=0.0)
    result = run(DAY2)
    assert result.state == "success", result.output[-4000:]
    bad_lines = {n for k, v in delivery1.defects.items() if k != "DUPLICATE_KEY" for n in v}
    in_gold_day1 = {p.resident_id for i, p in enumerate(people1) if i + 2 not in bad_lines}
    moved = {b.resident_id for a, b in zip(people1, people2, strict=True) if a != b}
    expect_updated = len(moved & in_gold_day1)
    expect_inserted = len({p.resident_id for p in people2} - in_gold_day1)
    logged = sql(
        "SELECT inserted, updated FROM lake.governance.batch_log "
        "WHERE feed = ? AND batch_id = ? AND stage = 'gold'",
        [FEED, DAY2],
    )
    assert logged == [[expect_inserted, expect_updated]]
    assert expect_updated > 20
    assert one(sql, "SELECT count(*) FROM lake.gold.population_person") == PERSONS
    assert one(sql, "SELECT count(*) - count(DISTINCT resident_id) FROM lake.gold.population_person") == 0
    someone = next(
        b for a, b in zip(people1, people2, strict=True) if a != b and b.resident_id in in_gold_day1
    )
    row = sql(
        "SELECT address, admin_code, _batch_id FROM lake.gold.population_person WHERE resident_id = ?",
        [someone.resident_id],
    )
    assert row == [[someone.address, someone.admin_code, DAY2]]


def test_broken_delivery_is_rejected_whole_then_rerun_succeeds(day1, sql):
    tables = ["bronze." + FEED, "silver." + FEED, "silver.quarantine", "gold.population_person"]
    before = {t: one(sql, f"SELECT count(*) FROM lake.{t}") for t in tables}
    _, bad = deliver(BROKEN, moved=0.02, encoding="gbk")  # the contract says UTF-8
    result = run(BROKEN)
    assert result.state == "failed"
    assert f"{bad.files[0]}: not valid utf-8 at line 1" in result.output
    assert {t: one(sql, f"SELECT count(*) FROM lake.{t}") for t in tables} == before
    rejected = sql(
        "SELECT stage, message FROM lake.governance.batch_log WHERE batch_id = ? AND status = 'rejected'",
        [BROKEN],
    )
    assert rejected and rejected[0][0] == "preflight" and bad.files[0].name in rejected[0][1]

    # A header that lacks a field is named as well.
    path = bad.files[0]
    text = path.read_text(encoding="gbk").replace("联系电话", "电话号码", 1)
    path.write_text(text, encoding="utf-8")
    (bad.directory / "_delivery.json").unlink()
    result = run(BROKEN)
    assert result.state == "failed"
    assert "missing field(s) 联系电话" in result.output and path.name in result.output
    assert {t: one(sql, f"SELECT count(*) FROM lake.{t}") for t in tables} == before

    deliver(BROKEN, moved=0.02)  # the department re-sends the file in UTF-8 with the right header
    result = run(BROKEN)
    assert result.state == "success", result.output[-4000:]
    assert one(sql, f"SELECT count(*) FROM lake.bronze.{FEED} WHERE _batch_id = ?", [BROKEN]) == PERSONS + 20
    assert one(sql, "SELECT count(*) - count(DISTINCT resident_id) FROM lake.gold.population_person") == 0
