"""Batch ids order by the rule their contract declares (`batch_order`), never as strings: batch-10 comes
after batch-9, and gold's MERGE compares the same order key natively in Spark."""

import pytest
import yaml

from jobs import tables
from jobs.publish import batch_order_key, publish
from jobs.spark import get_spark, stop_spark
from schemas.contracts import BatchOrder, ContractError, FeedContract, get_contract, load_contract
from schemas.datasets import feed_tables

SEQUENCE, DATE = BatchOrder(), BatchOrder(by="date")


@pytest.mark.parametrize(
    ("order", "older", "newer"),
    [
        (SEQUENCE, "batch-9", "batch-10"),
        (SEQUENCE, "b1", "b2"),
        (SEQUENCE, "20261119", "20261120"),
        (DATE, "20261119", "20261120"),
        (DATE, "20261120", "20261120-1"),
        (DATE, "20261120-1", "20261120-2"),
        (DATE, "20261120-9", "20261120-10"),
        (DATE, "20261120-999", "20261121"),
        (DATE, "20261231", "20270101"),
        (BatchOrder(by="date", pattern="yyyy-MM-dd"), "2026-11-20-2", "2026-11-21"),
    ],
)
def test_newer_batch_has_the_greater_key(order, older, newer):
    assert order.key(older) < order.key(newer)


@pytest.mark.parametrize(
    ("order", "bad", "message"),
    [
        (SEQUENCE, "batch", "does not follow batch_order: sequence"),
        (SEQUENCE, "b1234567890123456789", "does not follow batch_order: sequence"),
        (DATE, "b1", r"does not follow batch_order: date \(yyyyMMdd"),
        (DATE, "2026112", "does not follow batch_order: date"),
        (DATE, "20261120-1000", "does not follow batch_order: date"),
        (DATE, "20261131", "is not a real date under batch_order: date"),
    ],
)
def test_a_batch_id_outside_the_rule_is_refused_naming_the_rule(order, bad, message):
    with pytest.raises(ValueError, match=message):
        order.key(bad)


def test_contracts_default_to_sequence_and_accept_the_shorthand(tmp_path):
    household = get_contract("public_security/household_register")
    assert household.batch_order == SEQUENCE
    assert household.batch_order.key("20261123") == 20261123
    data = household.model_dump(mode="json") | {"batch_order": "date"}
    assert FeedContract.model_validate(data).batch_order == DATE
    data["batch_order"] = {"by": "date", "pattern": "ddMMyyyy"}
    path = tmp_path / "public_security" / "household_register.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(
        ContractError, match=r"household_register\.yaml: batch_order\.pattern: Input should be"
    ):
        load_contract(path)


def _unit_contract(order: BatchOrder) -> FeedContract:
    return FeedContract.model_validate(
        {
            "department": "unit",
            "department_name": "测试",
            "feed": f"batch_order_{order.by}",
            "title": "批次顺序",
            "batch_order": order.model_dump(),
            "primary_key": ["k"],
            "columns": [
                {"name": "k", "label": "键", "nullable": False, "level": "L1"},
                {"name": "v", "label": "值", "level": "L1"},
            ],
            "target": {"library": "unit", "table": f"unit_batch_order_{order.by}", "title": "批次顺序"},
        }
    )


def test_gold_orders_batches_by_the_contracts_key_in_spark():
    """One Spark session: the SQL key equals the Python key, and an older batch never overwrites gold."""
    spark = get_spark("govlake-tests")
    try:
        ids = ["20261119", "20261120", "20261120-2", "20261120-10", "b1", "batch-10", "x"]
        for order in (SEQUENCE, DATE):
            frame = spark.createDataFrame([(i,) for i in ids], "id string")
            got = dict(frame.selectExpr("id", f"{batch_order_key(order, 'id')} AS k").collect())
            assert got == {i: _python_key(order, i) for i in ids}

        contract = _unit_contract(SEQUENCE)
        silver = tables.table_path(feed_tables(contract).silver)
        for batch, value in [("batch-9", "old"), ("batch-10", "new")]:
            row = [("a", value, batch, f"{batch}.csv", 2, f"hash-{value}")]
            schema = (
                "k string, v string, _batch_id string, _source_file string, _line long, _record_hash string"
            )
            spark.createDataFrame(row, schema).write.format("delta").mode("append").save(silver)
        assert publish(spark, contract, "batch-9").inserted == 1
        assert publish(spark, contract, "batch-10").updated == 1  # as strings, batch-10 < batch-9
        assert publish(spark, contract, "batch-9").updated == 0  # the older batch, re-run late
        gold = spark.read.format("delta").load(tables.table_path(feed_tables(contract).gold))
        assert [(r.v, r._batch_id) for r in gold.collect()] == [("new", "batch-10")]
    finally:
        stop_spark()


def _python_key(order: BatchOrder, batch: str) -> int | None:
    try:
        return order.key(batch)
    except ValueError:
        return None
