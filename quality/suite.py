"""Expectation suites generated from a feed contract: one `Rule` per check the contract implies.

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

import great_expectations.expectations as gxe
from great_expectations.expectations.expectation import Expectation
from great_expectations.expectations.registry import get_expectation_impl
from pyspark.sql import Column
from pyspark.sql import functions as F

from schemas import checks
from schemas.contracts import Column as ContractColumn
from schemas.contracts import FeedContract, RowCheck
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
        **kwargs,
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
        self.rules.append(Rule(name, dimension, severity, mostly, reported, fails, exp, flag, needs, problem))


def _column_rules(b: _Builder, c: ContractColumn) -> None:
    def v() -> Column:
        return F.col(c.name)

    def usable() -> Column:
        return v().isNotNull() & ~checks.resident_id_bad_format(v())

    if not c.nullable:
        b.add(
            f"{c.name}.not_null",
            "completeness",
            c.name,
            lambda: v().isNull(),
            gxe.ExpectColumnValuesToNotBeNull,
            column=c.name,
        )
    if c.type != "string" and b.stage == GATE:
        raw = f"_raw_{c.name}"
        b.add(
            f"{c.name}.type",
            "conformity",
            c.name,
            lambda: F.col(raw).isNotNull() & v().isNull(),
            needs=(raw,),
            problem=(c.name, "BAD_TYPE"),
        )
    if "resident_id" in c.checks:
        b.add(
            f"{c.name}.format",
            "conformity",
            c.name,
            lambda: v().isNotNull() & checks.resident_id_bad_format(v()),
            gxe.ExpectColumnValuesToMatchRegex,
            column=c.name,
            regex=checks.RESIDENT_ID_FORMAT,
        )
        b.add(
            f"{c.name}.check_digit",
            "accuracy",
            c.name,
            lambda: usable() & checks.resident_id_bad_check(v()),
            problem=(c.name, "BAD_CHECK_DIGIT"),
        )
        region = f"_region_{c.name}"
        b.add(
            f"{c.name}.region",
            "accuracy",
            c.name,
            lambda: usable() & F.col(region).isNull(),
            needs=(region,),
            problem=(c.name, "UNKNOWN_REGION"),
        )
    if "admin_division" in c.checks:
        division = f"_division_{c.name}"
        b.add(
            f"{c.name}.admin_division",
            "accuracy",
            c.name,
            lambda: v().isNotNull() & F.col(division).isNull(),
            needs=(division,),
            problem=(c.name, "UNKNOWN_ADMIN_CODE"),
        )
    if c.pattern:
        b.add(
            f"{c.name}.pattern",
            "conformity",
            c.name,
            lambda: v().isNotNull() & ~v().rlike(c.pattern),
            gxe.ExpectColumnValuesToMatchRegex,
            column=c.name,
            regex=c.pattern,
        )
    if c.allowed is not None:
        b.add(
            f"{c.name}.allowed",
            "conformity",
            c.name,
            lambda: v().isNotNull() & ~v().isin(c.allowed),
            gxe.ExpectColumnValuesToBeInSet,
            column=c.name,
            value_set=list(c.allowed),
        )


def _row_check_rules(b: _Builder, rc: RowCheck) -> None:
    def usable() -> Column:
        rid = F.col(rc.id)
        return rid.isNotNull() & ~checks.resident_id_bad_format(rid)

    if rc.birth_date:
        bd = rc.birth_date
        b.add(
            f"{bd}.matches_{rc.id}",
            "consistency",
            bd,
            lambda: (
                usable() & F.col(bd).isNotNull() & (checks.resident_id_birth_date(F.col(rc.id)) != F.col(bd))
            ),
            problem=(bd, "ID_BIRTH_MISMATCH"),
        )
    if rc.gender:
        g = rc.gender
        b.add(
            f"{g}.matches_{rc.id}",
            "consistency",
            g,
            lambda: usable() & F.col(g).isNotNull() & (checks.resident_id_gender(F.col(rc.id)) != F.col(g)),
            problem=(g, "ID_GENDER_MISMATCH"),
        )


def build_rules(contract: FeedContract, stage: str = GATE, as_of: dt.date | None = None) -> list[Rule]:
    """The suite for the contract's silver candidate (`gate`) or its gold table (`gold`)."""
    b = _Builder(contract, stage, as_of or dt.date.today())
    if stage == GATE:
        b.add(
            "row.field_count",
            "conformity",
            EXTRA,
            lambda: F.col(EXTRA).isNotNull(),
            problem=(EXTRA, "BAD_FIELD_COUNT"),
        )
    for c in contract.columns:
        _column_rules(b, c)
    for rc in contract.row_checks:
        _row_check_rules(b, rc)
    b.add(  # natively: one aggregate over the key columns, not GX's window over every row
        "primary_key.unique",
        "consistency",
        contract.primary_key[0],
        lambda: F.col("_key_count") > 1,
        needs=("_key_count",),
    )
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
