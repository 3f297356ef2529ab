"""Expectation suites generated from a feed contract: one `Rule` per check of the registry
(schemas.checks) that the contract implies, plus the contract's `quality:` block (references, freshness,
custom expectations).

Each rule is a GX 1.x expectation (dimension, severity and name in its `meta`) plus the native Spark
expression that is true on a failing row, so that failing rows are extracted in one pass. Checks GX
has no built-in for (check digit, region and admin codes, ID ↔ birth date, references to other tables)
and key uniqueness (GX's is a window over every row; ours one aggregate over the key) are computed once
as boolean columns `_ok__<rule>` and validated by GX as `in_set [True]`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import great_expectations.expectations as gxe
from great_expectations.expectations.expectation import Expectation
from great_expectations.expectations.registry import get_expectation_impl
from pyspark.sql import Column
from pyspark.sql import functions as F

from schemas import checks
from schemas.contracts import FeedContract
from schemas.datasets import EXTRA
from schemas.quality import Dimension, QualityBlock, Severity

GATE, GOLD = "gate", "gold"  # the silver candidate (+ its quarantined rows) before publish; gold after


@dataclass(frozen=True)
class Rule:
    name: str  # stable id, e.g. resident_id.check_digit; the key of `quality.overrides`
    dimension: Dimension
    severity: Severity
    mostly: float | None
    column: str | None  # whose value is reported for a failing row
    fails: Callable[[], Column] | None  # true on a failing row; None for table-level rules
    expectation: Expectation
    flag: str | None = None  # the helper column GX validates, if the check is computed natively
    needs: tuple[str, ...] = field(default=())  # helper columns the frame must carry
    # The refine problem (field, reason code) that is the same check: on refine's own frame, which still
    # carries `_problems`, the flag is read from there instead of being computed again.
    problem: tuple[str, str] | None = None
    lookup: tuple[checks.Lookup, str] | None = None  # the reference join its flag reads

    @property
    def type(self) -> str:
        return self.expectation.expectation_type


def flag_name(rule: str) -> str:
    return "_ok__" + re.sub(r"[^a-z0-9]+", "_", rule.lower())


class _Builder:
    def __init__(self, contract: FeedContract, stage: str, as_of: dt.date) -> None:
        self.contract, self.stage, self.as_of = contract, stage, as_of
        self.q = contract.quality or QualityBlock()
        self.rules: list[Rule] = []

    def add(
        self,
        name: str,
        dimension: Dimension,
        reported: str | None,
        fails: Callable[[], Column] | None,
        make: type[Expectation] | None = None,
        severity: Severity = "critical",
        mostly: float | None = -1.0,  # -1: the block's default for the severity; None: no `mostly`
        needs: tuple[str, ...] = (),
        problem: tuple[str, str] | None = None,
        lookup: tuple[checks.Lookup, str] | None = None,
        **kwargs: Any,
    ) -> None:
        o = self.q.overrides.get(name)
        if o is not None and not o.enabled:
            return
        severity = (o.severity if o and o.severity else None) or severity
        dimension = (o.dimension if o and o.dimension else None) or dimension
        if mostly is not None:
            default = self.q.critical_mostly if severity == "critical" else self.q.warning_mostly
            mostly = (o.mostly if o and o.mostly else None) or (default if mostly < 0 else mostly)
        flag = None
        if make is None:  # computed natively: GX checks the flag column
            flag = flag_name(name)
            make, kwargs = gxe.ExpectColumnValuesToBeInSet, {"column": flag, "value_set": [True]}
        if mostly is not None and mostly < 1:
            kwargs["mostly"] = mostly
        meta = {"name": name, "dimension": dimension, "severity": severity, "column": reported}
        exp = make(**kwargs, meta=meta)
        self.rules.append(
            Rule(name, dimension, severity, mostly, reported, fails, exp, flag, needs, problem, lookup)
        )


def _registered(b: _Builder, k: checks.Check) -> None:
    """A check of the registry as a rule: GX's own expectation where it has one, else the native flag."""
    view = checks.GATE if b.stage == GATE else checks.GOLD
    lookup = (checks.lookup_column(*k.lookup),) if k.lookup else ()
    b.add(
        k.name,
        k.dimension,
        k.field,
        lambda: k.fails(view),
        get_expectation_impl(k.expectation) if k.expectation else None,
        severity=k.severity,
        needs=lookup + k.needs,
        problem=k.problem if k.same_as_problem else None,
        lookup=k.lookup,
        **k.kwargs(view),
    )


def registered_checks(contract: FeedContract, stage: str) -> list[checks.Check]:
    """The registry's checks of the contract that apply at `stage` (gold holds typed values only)."""
    rows = checks.row_checks(contract)  # the surplus-field check first, as in the published suites
    surplus = [k for k in rows if k.field == EXTRA]
    found = surplus + [k for c in contract.columns for k in checks.column_checks(c)]
    found += [k for k in rows if k not in surplus] + [checks.key_check(contract)]
    return [k for k in found if stage == GATE or not k.gate_only]


def build_rules(contract: FeedContract, stage: str = GATE, as_of: dt.date | None = None) -> list[Rule]:
    """The suite for the contract's silver candidate (`gate`) or its gold table (`gold`)."""
    b = _Builder(contract, stage, as_of or dt.date.today())
    for k in registered_checks(contract, stage):
        _registered(b, k)
    for i, ref in enumerate(b.q.references):
        flag = f"_ref_{i}"
        places = "_or_".join(f"{schema}_{table}" for schema, table, _ in ref.targets())
        b.add(
            f"{ref.column}.exists_in_{places}",
            "consistency",
            ref.column,
            lambda col=ref.column, flag=flag: F.col(col).isNotNull() & F.col(flag).isNull(),
            severity=ref.severity,
            mostly=ref.mostly if ref.mostly else -1.0,
            needs=(flag,),
        )
    if b.q.freshness:
        f = b.q.freshness
        oldest = b.as_of - dt.timedelta(days=f.max_age_days)
        b.add(
            f"{f.column}.freshness",
            "timeliness",
            f.column,
            None,
            gxe.ExpectColumnMaxToBeBetween,
            severity=f.severity,
            mostly=None,
            column=f.column,
            min_value=oldest,
        )
    for i, ce in enumerate(b.q.expectations):
        impl = get_expectation_impl(ce.type)
        b.add(
            ce.name or f"custom.{i}_{ce.type}",
            ce.dimension,
            ce.kwargs.get("column"),
            custom_fails(ce.type, ce.kwargs),
            impl,
            severity=ce.severity,
            mostly=None,
            **ce.kwargs,
        )
    return b.rules


def custom_fails(kind: str, kw: dict) -> Callable[[], Column] | None:
    """The failing-row expression of a custom column-map expectation GX's Spark engine would count
    (nulls are skipped, as GX does), so its failing rows are named like the generated ones; None for the
    others (their verdict and observed value come from GX alone)."""
    column = kw.get("column")
    if not column or kw.get("row_condition"):  # a conditional expectation: GX alone knows its rows
        return None

    def v() -> Column:
        return F.col(column)

    def between(x: Column, low: object, high: object) -> Column:
        low_ok = F.lit(True) if low is None else (x > low if kw.get("strict_min") else x >= low)
        high_ok = F.lit(True) if high is None else (x < high if kw.get("strict_max") else x <= high)
        return ~(low_ok & high_ok)

    failing: dict[str, Callable[[], Column]] = {
        "expect_column_values_to_not_be_null": lambda: v().isNull(),
        "expect_column_values_to_be_between": lambda: between(v(), kw.get("min_value"), kw.get("max_value")),
        "expect_column_values_to_be_in_set": lambda: ~v().isin(list(kw.get("value_set", []))),
        "expect_column_values_to_not_be_in_set": lambda: v().isin(list(kw.get("value_set", []))),
        "expect_column_values_to_match_regex": lambda: ~v().rlike(kw["regex"]),
        "expect_column_values_to_not_match_regex": lambda: v().rlike(kw["regex"]),
        "expect_column_value_lengths_to_be_between": lambda: between(
            F.length(v()), kw.get("min_value"), kw.get("max_value")
        ),
    }
    make = failing.get(kind)
    if make is None:
        return None
    if kind == "expect_column_values_to_not_be_null":
        return make
    return lambda: v().isNotNull() & make()
