"""Suites generated from contracts: names, dimensions, severities, thresholds and the `quality:` block."""

from __future__ import annotations

import datetime as dt

import pytest

from quality.suite import GATE, GOLD, build_rules
from schemas.contracts import FeedContract, get_contract
from schemas.quality import DIMENSIONS, QualityBlock

HOUSEHOLD = get_contract("public_security/household_register")


def with_quality(**block) -> FeedContract:
    return HOUSEHOLD.model_copy(update={"quality": QualityBlock.model_validate(block)})


def test_household_suite_covers_every_contract_rule_with_dimension_and_severity_in_meta():
    rules = {r.name: r for r in build_rules(HOUSEHOLD, GATE)}
    assert {
        "resident_id.not_null": "completeness",
        "resident_id.check_digit": "accuracy",
        "admin_code.admin_division": "accuracy",
        "gender.allowed": "conformity",
        "phone.pattern": "conformity",
        "birth_date.type": "conformity",
        "birth_date.matches_resident_id": "consistency",
        "primary_key.unique": "consistency",
        "registered_on.freshness": "timeliness",
    }.items() <= {n: r.dimension for n, r in rules.items()}.items()
    assert {r.dimension for r in rules.values()} == set(DIMENSIONS)
    for r in rules.values():
        meta = r.expectation.meta
        assert meta["name"] == r.name and meta["dimension"] == r.dimension and meta["severity"] == r.severity
    assert rules["resident_id.check_digit"].expectation.mostly == 0.99
    assert rules["registered_on.freshness"].severity == "warning"
    assert rules["phone.pattern"].expectation.regex == HOUSEHOLD.column("phone").pattern
    # Gold carries typed values only: no type or field-count rules there.
    gold = {r.name for r in build_rules(HOUSEHOLD, GOLD)}
    assert (
        "birth_date.type" not in gold and "row.field_count" not in gold and "resident_id.check_digit" in gold
    )


def test_quality_block_overrides_thresholds_freshness_references_and_custom_expectations():
    c = with_quality(
        critical_mostly=0.9,
        overrides={
            "phone.pattern": {"severity": "warning", "mostly": 0.5},
            "gender.allowed": {"enabled": False},
        },
        freshness={"column": "registered_on", "max_age_days": 7, "severity": "critical"},
        references=[{"column": "resident_id", "table": "gold.population_person", "severity": "warning"}],
        expectations=[
            {
                "type": "expect_column_value_lengths_to_equal",
                "kwargs": {"column": "resident_id", "value": 18},
                "dimension": "conformity",
                "severity": "critical",
                "name": "resident_id.length",
            }
        ],
    )
    rules = {r.name: r for r in build_rules(c, GATE, as_of=dt.date(2026, 11, 23))}
    assert rules["resident_id.check_digit"].mostly == 0.9
    assert (rules["phone.pattern"].severity, rules["phone.pattern"].mostly) == ("warning", 0.5)
    assert "gender.allowed" not in rules
    fresh = rules["registered_on.freshness"].expectation
    assert (
        fresh.min_value == dt.date(2026, 11, 16) and rules["registered_on.freshness"].severity == "critical"
    )
    ref = rules["resident_id.exists_in_gold_population_person"]
    assert (ref.dimension, ref.severity, ref.mostly, ref.needs) == (
        "consistency",
        "warning",
        0.95,
        ("_ref_0",),
    )
    custom = rules["resident_id.length"]
    assert custom.type == "expect_column_value_lengths_to_equal" and custom.expectation.value == 18


def test_invalid_quality_blocks_are_rejected():
    with pytest.raises(ValueError, match="mostly"):
        QualityBlock.model_validate({"critical_mostly": 1.5})
    with pytest.raises(ValueError, match="table"):
        QualityBlock.model_validate({"references": [{"column": "x", "table": "gold.x; DROP TABLE y"}]})
    with pytest.raises(ValueError, match=r"or_in target 'gold\.x; DROP TABLE y\.c'"):
        QualityBlock.model_validate(
            {"references": [{"column": "x", "table": "gold.x", "or_in": ["gold.x; DROP TABLE y.c"]}]}
        )
    with pytest.raises(ValueError, match="freshness"):
        QualityBlock.model_validate({"freshness": {"column": "d", "max_age_days": 0, "unknown": 1}})


def test_a_reference_may_be_found_in_any_of_several_tables():
    block = QualityBlock.model_validate(
        {
            "references": [
                {
                    "column": "holder_key",
                    "table": "gold.population_base",
                    "ref_column": "resident_id",
                    "or_in": ["gold.legal_person_base.credit_code"],
                }
            ]
        }
    )
    assert block.references[0].targets() == [
        ("gold", "population_base", "resident_id"),
        ("gold", "legal_person_base", "credit_code"),
    ]
