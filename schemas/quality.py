"""The optional `quality:` block of a feed contract: thresholds, overrides, freshness, cross-table and
custom expectations. Everything else about a suite is derived from the contract's columns."""

from __future__ import annotations

import re
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, field_validator

Dimension = Literal["conformity", "accuracy", "consistency", "completeness", "timeliness"]
Severity = Literal["critical", "warning"]

# 规范性 准确性 一致性 完整性 时效性: the five dimensions of the provincial data-quality standard.
DIMENSIONS: dict[str, str] = {
    "conformity": "规范性",
    "accuracy": "准确性",
    "consistency": "一致性",
    "completeness": "完整性",
    "timeliness": "时效性",
}


class QualityGateFailed(RuntimeError):
    """A critical expectation failed: the batch is not promoted. (Here, not in quality.gate, so that
    enforcing a verdict does not import GX.)"""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Override(_Model):
    """Changes one generated expectation, named like `resident_id.check_digit` or `primary_key.unique`."""

    severity: Severity | None = None
    dimension: Dimension | None = None
    mostly: float | None = Field(None, gt=0, le=1)
    enabled: bool = True


class Freshness(_Model):
    """时效性: the newest value of `column` must be at most `max_age_days` old when the batch is checked."""

    column: str
    max_age_days: int = Field(gt=0)
    severity: Severity = "warning"


TABLE_NAME = r"(bronze|silver|gold|governance)\.[a-z][a-z0-9_]{0,62}"


class Reference(_Model):
    """一致性 across tables: every non-null `column` exists in `table` (`<schema>.<table>`) `ref_column`,
    or in one of `or_in` (`<schema>.<table>.<column>`), e.g. a holder in the population or legal-person
    library. A target table that does not exist yet is left out; with none left the check is skipped."""

    column: str
    table: str = Field(pattern=f"^{TABLE_NAME}$")
    ref_column: str | None = None
    or_in: list[str] = []
    severity: Severity = "critical"
    mostly: float | None = Field(None, gt=0, le=1)

    @field_validator("or_in")
    @classmethod
    def _targets(cls, value: list[str]) -> list[str]:
        for t in value:
            if not re.fullmatch(f"{TABLE_NAME}\\.[a-z][a-z0-9_]{{0,62}}", t):
                raise ValueError(f"or_in target {t!r} is not <schema>.<table>.<column>")
        return value

    def targets(self) -> list[tuple[str, str, str]]:
        """(schema, table, column) of every place the value may be found."""
        first = (*self.table.split("."), self.ref_column or self.column)
        # `table` and `or_in` are validated as <schema>.<table>[.<column>]: three parts each.
        return cast(list[tuple[str, str, str]], [first, *(tuple(t.split(".")) for t in self.or_in)])


class CustomExpectation(_Model):
    """Any GX 1.x expectation by its snake_case type, e.g. expect_column_values_to_be_between."""

    type: str = Field(pattern=r"^expect_[a-z0-9_]+$")
    kwargs: dict[str, Any] = {}
    name: str | None = None
    dimension: Dimension = "accuracy"
    severity: Severity = "warning"


class QualityBlock(_Model):
    critical_mostly: float = Field(0.99, gt=0, le=1, description="share of rows that must pass (critical)")
    warning_mostly: float = Field(0.95, gt=0, le=1)
    overrides: dict[str, Override] = {}
    freshness: Freshness | None = None
    references: list[Reference] = []
    expectations: list[CustomExpectation] = []

    @field_validator("overrides")
    @classmethod
    def _names(cls, value: dict[str, Override]) -> dict[str, Override]:
        for name in value:
            if not all(part.replace("_", "").isalnum() for part in name.split(".")):
                raise ValueError(f"override {name!r} is not an expectation name like column.rule")
        return value
