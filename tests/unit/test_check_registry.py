"""One check registry: every check any contract under schemas/ uses is defined once (schemas.checks), and
both refine (which quarantines rows) and the generated GX suites (which score and gate batches) carry
it, under the same name, reason code and dimension."""

from __future__ import annotations

import pytest

from jobs.refine import problem_checks
from quality.suite import GATE, GOLD, build_rules
from schemas import checks
from schemas.contracts import Column, FeedContract, load_contracts

CONTRACTS = load_contracts()


def declared(contract: FeedContract) -> set[tuple[str, str]]:
    """(column, check kind) for every check a contract asks for, explicitly or through its columns."""
    found = {(c.name, kind) for c in contract.columns for kind in c.checks}
    found |= {(c.name, "not_null") for c in contract.columns if not c.nullable}
    found |= {(c.name, "type") for c in contract.columns if c.type != "string"}
    found |= {(c.name, "pattern") for c in contract.columns if c.pattern}
    found |= {(c.name, "allowed") for c in contract.columns if c.allowed is not None}
    return found


def registered(column: Column, kind: str) -> list[checks.ColumnCheck]:
    return [k for k in checks.COLUMN_CHECKS if k.applies(column) and (k.kind or k.rule) == kind]


@pytest.mark.parametrize("name", sorted(CONTRACTS))
def test_every_check_a_contract_uses_is_in_refine_and_in_the_suite(name: str):
    contract = CONTRACTS[name]
    refine_checks = {k.name: k for k in problem_checks(contract)}
    suite = {r.name: r for r in build_rules(contract, GATE)}
    missing = []
    for column, kind in sorted(declared(contract)):
        kinds = registered(contract.column(column), kind)
        if not kinds:
            missing.append(f"{column}: no registered check for {kind!r}")
        for k in kinds:
            rule = f"{column}.{k.rule}"
            if rule not in refine_checks:
                missing.append(f"{rule}: refine does not check it")
            if rule not in suite:
                missing.append(f"{rule}: the GX suite has no expectation for it")
            elif suite[rule].dimension != k.dimension or suite[rule].problem != (column, k.reason):
                missing.append(f"{rule}: the suite's dimension or reason differs from the registry's")
    assert not missing, f"{name}: " + "; ".join(missing)


@pytest.mark.parametrize("name", sorted(CONTRACTS))
def test_refine_and_the_gate_derive_the_same_checks(name: str):
    contract = CONTRACTS[name]
    refined = {(k.name, k.problem) for k in problem_checks(contract)}
    gated = {(r.name, r.problem) for r in build_rules(contract, GATE) if r.problem}
    assert refined == gated
    gold = {r.name for r in build_rules(contract, GOLD)}
    assert {k.name for k in problem_checks(contract) if not k.gate_only} <= gold


def test_every_declarable_check_kind_is_registered():
    assert {k.kind for k in checks.COLUMN_CHECKS if k.kind} == set(checks.CHECK_KINDS)


def test_credit_codes_are_validated_by_refine_and_the_suite():
    contract = CONTRACTS["market_regulation/enterprise_register"]
    suite = {r.name: r for r in build_rules(contract, GATE)}
    assert suite["credit_code.format"].expectation.regex == checks.codes.CREDIT_CODE_FORMAT
    assert suite["credit_code.check_digit"].problem == ("credit_code", "BAD_CHECK_DIGIT")
    assert "credit_code.check_digit" in {k.name for k in problem_checks(contract)}
