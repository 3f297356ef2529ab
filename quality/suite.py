"""Expectation suites generated from a feed contract: one `Rule` per check the contract implies.

Each rule is a GX 1.x expectation (dimension, severity and name in its `meta`) plus the native Spark
expression that is true on a failing row, so that failing rows are extracted in one pass. Checks GX
has no built-in for (check digit, region and admin codes, ID ↔ birth date, references to other tables)
are computed once as boolean columns `_ok__<rule>` and validated by GX as `in_set [True]`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import great_expectations.expectations as gxe
from great_expectations.expectations.expectation import Expectation
from great_expectations.expectations.registry import get_expectation_impl
from pyspark.sql import Column
from pyspark.sql import functions as F

from govlake.contracts import FeedContract
from jobs import checks
from jobs.ingest import EXTRA
from quality.model import Dimension, QualityBlock, Severity

GATE, GOLD = "gate", "gold"  # the silver candidate (+ its quarantined rows) before publish; gold after


@dataclass(frozen=True)
class Rule:
    name: str  # stable id, e.g. resident_id.check_digit; the key of `quality.overrides`
    dimension: Dimension
    severity: Severity
    mostly: float | None
    column: str | None  # whose value is reported for a failing row
    fails: Column | None  # true on a failing row; None for table-level rules (freshness, custom)
    expectation: Expectation
    flag: str | None = None  # the helper column GX validates, if the check is computed natively
    needs: tuple[str, ...] = field(default=())  # helper columns the frame must carry

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
        fails: Column | None,
        make: type[Expectation] | None = None,
        severity: Severity = "critical",
        mostly: float | None = -1.0,  # -1: the block's default for the severity; None: no `mostly`
        needs: tuple[str, ...] = (),
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
        self.rules.append(Rule(name, dimension, severity, mostly, reported, fails, exp, flag, needs))


def build_rules(contract: FeedContract, stage: str = GATE, as_of: dt.date | None = None) -> list[Rule]:
    """The suite for the contract's silver candidate (`gate`) or its gold table (`gold`)."""
    b = _Builder(contract, stage, as_of or dt.date.today())
    if stage == GATE:
        b.add("row.field_count", "conformity", EXTRA, F.col(EXTRA).isNotNull())
    for c in contract.columns:
        v = F.col(c.name)
        if not c.nullable:
            b.add(
                f"{c.name}.not_null",
                "completeness",
                c.name,
                v.isNull(),
                gxe.ExpectColumnValuesToNotBeNull,
                column=c.name,
            )
        if c.type != "string" and stage == GATE:
            raw = F.col(f"_raw_{c.name}")
            b.add(
                f"{c.name}.type",
                "conformity",
                c.name,
                raw.isNotNull() & v.isNull(),
                needs=(f"_raw_{c.name}",),
            )
        if "resident_id" in c.checks:
            bad_format = checks.resident_id_bad_format(v)
            b.add(
                f"{c.name}.format",
                "conformity",
                c.name,
                v.isNotNull() & bad_format,
                gxe.ExpectColumnValuesToMatchRegex,
                column=c.name,
                regex=checks.RESIDENT_ID_FORMAT,
            )
            usable = v.isNotNull() & ~bad_format
            b.add(f"{c.name}.check_digit", "accuracy", c.name, usable & checks.resident_id_bad_check(v))
            region = f"_region_{c.name}"
            b.add(f"{c.name}.region", "accuracy", c.name, usable & F.col(region).isNull(), needs=(region,))
        if "admin_division" in c.checks:
            division = f"_division_{c.name}"
            b.add(
                f"{c.name}.admin_division",
                "accuracy",
                c.name,
                v.isNotNull() & F.col(division).isNull(),
                needs=(division,),
            )
        if c.pattern:
            b.add(
                f"{c.name}.pattern",
                "conformity",
                c.name,
                v.isNotNull() & ~v.rlike(c.pattern),
                gxe.ExpectColumnValuesToMatchRegex,
                column=c.name,
                regex=c.pattern,
            )
        if c.allowed is not None:
            b.add(
                f"{c.name}.allowed",
                "conformity",
                c.name,
                v.isNotNull() & ~v.isin(c.allowed),
                gxe.ExpectColumnValuesToBeInSet,
                column=c.name,
                value_set=list(c.allowed),
            )
    for rc in contract.row_checks:
        rid = F.col(rc.id)
        usable = rid.isNotNull() & ~checks.resident_id_bad_format(rid)
        if rc.birth_date:
            bd = F.col(rc.birth_date)
            b.add(
                f"{rc.birth_date}.matches_{rc.id}",
                "consistency",
                rc.birth_date,
                usable & bd.isNotNull() & (checks.resident_id_birth_date(rid) != bd),
            )
        if rc.gender:
            g = F.col(rc.gender)
            b.add(
                f"{rc.gender}.matches_{rc.id}",
                "consistency",
                rc.gender,
                usable & g.isNotNull() & (checks.resident_id_gender(rid) != g),
            )
    key = contract.primary_key
    dup = F.col("_key_count") > 1
    if len(key) == 1:
        b.add(
            "primary_key.unique",
            "consistency",
            key[0],
            dup,
            gxe.ExpectColumnValuesToBeUnique,
            needs=("_key_count",),
            column=key[0],
        )
    else:
        b.add(
            "primary_key.unique",
            "consistency",
            key[0],
            dup,
            gxe.ExpectCompoundColumnsToBeUnique,
            needs=("_key_count",),
            column_list=list(key),
        )
    for i, ref in enumerate(b.q.references):
        flag = f"_ref_{i}"
        b.add(
            f"{ref.column}.exists_in_{ref.table.replace('.', '_')}",
            "consistency",
            ref.column,
            F.col(ref.column).isNotNull() & F.col(flag).isNull(),
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
            None,
            impl,
            severity=ce.severity,
            mostly=None,
            **ce.kwargs,
        )
    return b.rules
