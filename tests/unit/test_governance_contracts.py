"""Governance table contracts (schemas/governance/*.yaml): each loads, labels every column, and the one
builder creates a Delta table whose schema, comments and partitions are the contract's."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import pytest
import yaml
from pyspark.sql import SparkSession

from jobs import governance_tables, tables
from schemas.contracts import ContractError, feed_contract_paths
from schemas.governance import (
    GOVERNANCE_ROOT,
    GovernanceType,
    governance_contract,
    governance_contracts,
    load_governance_contract,
)

KNOWN = {
    "batch_log",
    "quality_result",
    "quality_failure",
    "verification_conflict",
    "lineage_event",
    "column_lineage",
    "lineage_rejected",
    "catalog_resource",
    "catalog_item",
    "catalog_requirement",
    "negative_list",
    "share_decision",
    "access_log",
}
BUILT = ["batch_log", "catalog_resource", "share_decision", "lineage_event", "quality_result"]


@pytest.fixture(scope="module")
def spark():
    from jobs.spark import get_spark, stop_spark

    yield get_spark("govlake-tests")
    stop_spark()


def test_every_governance_table_has_a_contract() -> None:
    contracts = governance_contracts()
    assert set(contracts) == KNOWN
    assert sorted(p.stem for p in GOVERNANCE_ROOT.glob("*.yaml")) == sorted(contracts)


def test_every_column_has_a_chinese_label() -> None:
    for name, contract in governance_contracts().items():
        assert contract.title.strip(), name
        for column in contract.columns:
            assert column.label.strip(), f"{name}.{column.name}"


def test_feed_contracts_skip_the_governance_folder() -> None:
    assert not [p for p in feed_contract_paths() if p.parent == GOVERNANCE_ROOT]


def test_every_contract_type_has_a_spark_type() -> None:
    assert set(governance_tables.SPARK_TYPES) == set(get_args(GovernanceType))


def test_unknown_table_is_named() -> None:
    with pytest.raises(ContractError, match=r"no governance table 'nope'.*known: access_log"):
        governance_contract("nope")


@pytest.mark.parametrize("name", BUILT)
def test_builder_creates_the_contract_table(spark: SparkSession, name: str) -> None:
    contract = governance_contract(name)
    governance_tables.ensure(spark, name)
    location = tables.path(governance_tables.SCHEMA, name)
    schema = spark.read.format("delta").load(location).schema
    assert [(f.name, f.nullable, f.metadata.get("comment")) for f in schema.fields] == [
        (c.name, c.nullable, c.label) for c in contract.columns
    ]
    assert [f.dataType for f in schema.fields] == [
        governance_tables.SPARK_TYPES[c.type] for c in contract.columns
    ]
    detail = spark.sql(f"DESCRIBE DETAIL delta.`{location}`").first()
    assert detail["description"] == contract.title
    assert list(detail["partitionColumns"]) == contract.partition_by


def _write(tmp_path: Path, name: str, columns: list[dict], **extra: object) -> Path:
    path = tmp_path / f"{name}.yaml"
    data = {"table": name, "title": "测试表", "columns": columns, **extra}
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("columns", "extra", "problem"),
    [
        ([{"name": "a", "label": "甲", "type": "varchar"}], {}, r"columns\.0\.type: Input should be"),
        ([{"name": "a", "label": "甲"}, {"name": "b"}], {}, r"columns\.1\.label: Field required"),
        ([{"name": "a", "label": "  "}], {}, r"columns\.0\.label: must not be blank"),
        ([{"name": "A", "label": "甲"}], {}, r"columns\.0\.name: 'A' is not a valid name"),
        ([{"name": "a", "label": "甲", "comment": "x"}], {}, r"columns\.0\.comment: Extra inputs"),
        ([{"name": "a", "label": "甲"}], {"partition_by": ["b"]}, r"partition_by names unknown column 'b'"),
        (
            [{"name": "a", "label": "甲", "type": "timestamp"}],
            {"partition_by": ["a"]},
            r"partition_by: 'a' is a timestamp",
        ),
        ([{"name": "a", "label": "甲"}, {"name": "a", "label": "乙"}], {}, r"duplicate column names"),
    ],
)
def test_bad_contract_is_rejected_naming_file_and_field(
    tmp_path: Path, columns: list[dict], extra: dict, problem: str
) -> None:
    path = _write(tmp_path, "unit_bad", columns, **extra)
    with pytest.raises(ContractError, match=rf"^{re.escape(str(path))}: .*{problem}"):
        load_governance_contract(path)


def test_contract_must_live_at_its_table_name(tmp_path: Path) -> None:
    path = _write(tmp_path, "unit_one", [{"name": "a", "label": "甲"}])
    moved = path.rename(tmp_path / "unit_two.yaml")
    with pytest.raises(
        ContractError, match=rf"^{re.escape(str(moved))}: table: 'unit_one' must live at unit_one\.yaml"
    ):
        load_governance_contract(moved)
