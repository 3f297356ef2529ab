"""The check registry: every kind of check defined once, with its reason code (what refine quarantines a row
for), its native Spark expression (true on a failing row), its GX expectation (or none: GX then validates a
native flag column), its quality dimension and its default severity. Refine (jobs.refine) and the quality
suites (quality.suite) both derive from `column_checks` and `row_checks`; neither defines a check itself.

A check reads a column through a `View`: refine sees the delivered text (`_clean_<column>`) beside the
typed value; the gate sees the typed value and, for non-string columns, the delivered text
(`_raw_<column>`); gold holds typed values only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pyspark.sql import Column
from pyspark.sql import functions as F

from schemas import codes
from schemas.datasets import EXTRA
from schemas.quality import Dimension, Severity

if TYPE_CHECKING:
    from schemas.contracts import Column as ContractColumn
    from schemas.contracts import FeedContract, RowCheck

CheckKind = Literal["resident_id", "admin_division", "credit_code"]  # what a contract column may declare
CHECK_KINDS: tuple[CheckKind, ...] = ("resident_id", "admin_division", "credit_code")
UPPER_CASE_KINDS = frozenset({"resident_id", "credit_code"})  # codes compared upper-cased (X, letters)
Lookup = Literal["region", "division"]  # reference joins against GB/T 2260 (jobs.reference)


def lookup_column(kind: Lookup, column: str) -> str:
    """The helper column a reference join adds: the matched code, null where none matched."""
    return f"_{kind}_{column}"


@dataclass(frozen=True)
class View:
    """How one frame holds a column: `text` is the delivered text (trimmed, codes upper-cased; null when
    empty), `value` the typed value."""

    text_prefix: str | None  # refine: "_clean_"; gate: "_raw_" (non-string columns only); gold: None
    text_of_strings: bool = False  # the text prefix applies to string columns too (refine)

    def text_name(self, c: ContractColumn) -> str:
        if self.text_prefix and (c.type != "string" or self.text_of_strings):
            return f"{self.text_prefix}{c.name}"
        return c.name

    def text(self, c: ContractColumn) -> Column:
        return F.col(self.text_name(c))

    def value(self, c: ContractColumn) -> Column:
        return F.col(c.name)


REFINE = View("_clean_", text_of_strings=True)
GATE = View("_raw_")
GOLD = View(None)

Fails = Callable[[View, "ContractColumn"], Column]
Kwargs = Callable[[View, "ContractColumn"], dict[str, Any]]


def _no_kwargs(view: View, c: ContractColumn) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class ColumnCheck:
    """One kind of column check; the rule it becomes is named `<column>.<rule>`."""

    rule: str
    reason: str
    dimension: Dimension
    applies: Callable[[ContractColumn], bool]
    fails: Fails  # true on a failing row (false where the value is missing, unless the check is for that)
    expectation: str | None = None  # GX expectation type; None: GX validates the native flag
    kwargs: Kwargs = _no_kwargs  # the expectation's arguments (besides mostly and meta)
    lookup: Lookup | None = None
    gate_only: bool = False  # needs the delivered text, which gold no longer has
    severity: Severity = "critical"
    kind: CheckKind | None = None  # the contract's `checks:` entry that asks for it, if any


def _present(view: View, c: ContractColumn) -> Column:
    return view.text(c).isNotNull()


def _usable_id(view: View, c: ContractColumn) -> Column:
    return _present(view, c) & ~codes.resident_id_bad_format(view.text(c))


def _usable_code(view: View, c: ContractColumn) -> Column:
    return _present(view, c) & ~codes.credit_code_bad_format(view.text(c))


def _unmatched(kind: Lookup) -> Fails:
    return lambda view, c: F.col(lookup_column(kind, c.name)).isNull()


def _declared(kind: CheckKind) -> Callable[[ContractColumn], bool]:
    return lambda c: kind in c.checks


def _column(view: View, c: ContractColumn) -> dict[str, Any]:
    return {"column": view.text_name(c)}


# In the order refine reports them: a row's first problem names its reason.
COLUMN_CHECKS: tuple[ColumnCheck, ...] = (
    ColumnCheck(
        "not_null", "MISSING_FIELD", "completeness", lambda c: not c.nullable,
        lambda view, c: view.text(c).isNull(), "expect_column_values_to_not_be_null", _column,
    ),
    ColumnCheck(
        "type", "BAD_TYPE", "conformity", lambda c: c.type != "string",
        lambda view, c: _present(view, c) & view.value(c).isNull(), gate_only=True,
    ),
    ColumnCheck(
        "format", "BAD_FORMAT", "conformity", _declared("resident_id"),
        lambda view, c: _present(view, c) & codes.resident_id_bad_format(view.text(c)),
        "expect_column_values_to_match_regex",
        lambda view, c: {**_column(view, c), "regex": codes.RESIDENT_ID_FORMAT}, kind="resident_id",
    ),
    ColumnCheck(
        "check_digit", "BAD_CHECK_DIGIT", "accuracy", _declared("resident_id"),
        lambda view, c: _usable_id(view, c) & codes.resident_id_bad_check(view.text(c)), kind="resident_id",
    ),
    ColumnCheck(
        "region", "UNKNOWN_REGION", "accuracy", _declared("resident_id"),
        lambda view, c: _usable_id(view, c) & _unmatched("region")(view, c), lookup="region",
        kind="resident_id",
    ),
    ColumnCheck(
        "format", "BAD_FORMAT", "conformity", _declared("credit_code"),
        lambda view, c: _present(view, c) & codes.credit_code_bad_format(view.text(c)),
        "expect_column_values_to_match_regex",
        lambda view, c: {**_column(view, c), "regex": codes.CREDIT_CODE_FORMAT}, kind="credit_code",
    ),
    ColumnCheck(
        "check_digit", "BAD_CHECK_DIGIT", "accuracy", _declared("credit_code"),
        lambda view, c: _usable_code(view, c) & codes.credit_code_bad_check(view.text(c)),
        kind="credit_code",
    ),
    ColumnCheck(
        "admin_division", "UNKNOWN_ADMIN_CODE", "accuracy", _declared("admin_division"),
        lambda view, c: _present(view, c) & _unmatched("division")(view, c), lookup="division",
        kind="admin_division",
    ),
    ColumnCheck(
        "pattern", "BAD_FORMAT", "conformity", lambda c: c.pattern is not None,
        lambda view, c: _present(view, c) & ~view.text(c).rlike(c.pattern or ""),
        "expect_column_values_to_match_regex", lambda view, c: {**_column(view, c), "regex": c.pattern},
    ),
    ColumnCheck(
        "allowed", "NOT_ALLOWED", "conformity", lambda c: c.allowed is not None,
        lambda view, c: _present(view, c) & ~view.text(c).isin(list(c.allowed or [])),
        "expect_column_values_to_be_in_set",
        lambda view, c: {**_column(view, c), "value_set": list(c.allowed or [])},
    ),
)  # fmt: skip


@dataclass(frozen=True)
class Check:
    """A check bound to a contract: its rule name, the field it reports and everything the registry
    says of its kind. `fails(view)` is the native expression on a frame of that view."""

    name: str
    field: str
    reason: str
    dimension: Dimension
    fails: Callable[[View], Column]
    expectation: str | None = None
    kwargs: Callable[[View], dict[str, Any]] = lambda view: {}
    lookup: tuple[Lookup, str] | None = None  # (kind, column) of the reference join it reads
    gate_only: bool = False
    severity: Severity = "critical"
    needs: tuple[str, ...] = ()  # other helper columns the frame must carry
    same_as_problem: bool = True  # the rule fails exactly on the rows refine records `problem` for

    @property
    def problem(self) -> tuple[str, str]:
        """(field, reason code): how refine records this check's failure in a row's `_problems`."""
        return (self.field, self.reason)


def _bind(k: ColumnCheck, c: ContractColumn) -> Check:
    def fails(view: View) -> Column:
        return k.fails(view, c)

    def kwargs(view: View) -> dict[str, Any]:
        return k.kwargs(view, c)

    lookup = (k.lookup, c.name) if k.lookup else None
    return Check(
        f"{c.name}.{k.rule}", c.name, k.reason, k.dimension, fails, k.expectation, kwargs, lookup,
        k.gate_only, k.severity,
    )  # fmt: skip


def column_checks(c: ContractColumn) -> list[Check]:
    """The checks of one contract column, in the order refine reports them."""
    return [_bind(k, c) for k in COLUMN_CHECKS if k.applies(c)]


def kinds_checked(c: ContractColumn) -> set[CheckKind]:
    """The declared check kinds that some registered check of the column implements."""
    return {k.kind for k in COLUMN_CHECKS if k.kind and k.applies(c)}


def _id_usable(rc: RowCheck) -> Column:
    rid = F.col(rc.id)
    return rid.isNotNull() & ~codes.resident_id_bad_format(rid)


def _matches(rc: RowCheck, column: str, implied: Callable[[Column], Column], reason: str) -> Check:
    def fails(view: View) -> Column:
        value = F.col(column)
        return _id_usable(rc) & value.isNotNull() & (implied(F.col(rc.id)) != value)

    return Check(f"{column}.matches_{rc.id}", column, reason, "consistency", fails)


def row_checks(contract: FeedContract) -> list[Check]:
    """Checks across a row's fields: surplus fields, then the contract's row checks (ID ↔ birth date and
    gender), in the order refine reports them. Key uniqueness is `key_check`."""
    found = [
        Check(
            "row.field_count", EXTRA, "BAD_FIELD_COUNT", "conformity",
            lambda view: F.col(EXTRA).isNotNull(), gate_only=True,
        )
    ]  # fmt: skip
    for rc in contract.row_checks:
        if rc.birth_date:
            found.append(_matches(rc, rc.birth_date, codes.resident_id_birth_date, "ID_BIRTH_MISMATCH"))
        if rc.gender:
            found.append(_matches(rc, rc.gender, codes.resident_id_gender, "ID_GENDER_MISMATCH"))
    return found


KEY_COUNT = "_key_count"  # how many rows share the row's primary key (null where the key is incomplete)


def key_check(contract: FeedContract) -> Check:
    """Primary-key uniqueness. Refine quarantines every row after the first of a key (DUPLICATE_KEY); the
    suites count every row whose key is shared, as GX's uniqueness does."""
    return Check(
        "primary_key.unique",
        contract.primary_key[0],
        "DUPLICATE_KEY",
        "consistency",
        lambda view: F.col(KEY_COUNT) > 1,
        needs=(KEY_COUNT,),
        same_as_problem=False,  # refine marks the later rows of a key only
    )
