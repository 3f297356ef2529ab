"""Feed contracts: one YAML file per department feed under schemas/, validated on load.

Everything downstream (ingest, refine, publish, Trino registration, DAGs) reads these models,
so adding a feed is a YAML file, not new code.
"""

from __future__ import annotations

import codecs
import datetime as dt
import re
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from schemas.arrival import Arrival
from schemas.checks import CheckKind
from schemas.quality import QualityBlock

IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
BATCH_ID = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_-]{0,63}$")
SCHEMAS_DIR = Path(__file__).resolve().parent  # the contract YAML ships with the package

ColumnType = Literal["string", "int", "long", "double", "decimal", "date", "timestamp", "boolean"]
PiiKind = Literal["none", "resident_id", "name", "phone", "address", "credit_code", "email"]
Level = Literal["L1", "L2", "L3", "L4"]  # 分级: L1 public … L4 most sensitive
Format = Literal["csv", "jsonl", "parquet"]
LIBRARIES_DIR = "libraries"  # schemas/libraries/*.yaml are library contracts (schemas.libraries)
GOVERNANCE_DIR = "governance"  # schemas/governance/*.yaml are the governance tables' contracts
NOT_FEEDS = (LIBRARIES_DIR, GOVERNANCE_DIR, "openlineage")
SAME_DAY = 1000  # up to 999 deliveries of one date: 20261120-2


class ContractError(ValueError):
    """A contract file is invalid; the message names the file and the field."""


def identifier(value: str) -> str:
    if not IDENTIFIER.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a valid name (lower-case letters, digits, _; starts with a letter)"
        )
    return value


def batch_id(value: str) -> str:
    """Batch ids name landing folders and appear in SQL predicates: letters, digits, '-' and '_' only."""
    if not BATCH_ID.fullmatch(value or ""):
        raise ValueError(f"{value!r} is not a valid batch id (letters, digits, '-', '_'; up to 64)")
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def require_level(data: Any) -> Any:
    """A column's classification is never implied: a column mapping without `level` is an error naming it."""
    if isinstance(data, dict) and "level" not in data:
        raise ValueError(
            f"column {data.get('name')!r} has no level: classify it L1 (public), L2 (internal), "
            "L3 (personal information, masked) or L4 (sensitive personal information, hidden)"
        )
    return data


class Column(_Model):
    name: str
    label: str = Field(min_length=1, description="Chinese label, becomes the column comment")
    source: str | None = Field(None, description="header of this column in the delivered file")
    type: ColumnType = "string"
    format: str | None = Field(None, description="date/timestamp pattern of the delivered text")
    nullable: bool = True
    pii: PiiKind = "none"
    level: Level  # mandatory (require_level): shares mask L3 and hide L4
    allowed: list[str] | None = None
    pattern: str | None = None
    checks: list[CheckKind] = []

    _name = field_validator("name")(identifier)
    _classified = model_validator(mode="before")(require_level)

    @field_validator("pattern")
    @classmethod
    def _regex_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            re.compile(value)
        return value

    @field_validator("checks")
    @classmethod
    def _one_code_standard(cls, value: list[CheckKind]) -> list[CheckKind]:
        if {"resident_id", "credit_code"} <= set(value):
            raise ValueError("a column is checked as a resident ID or as a credit code, not both")
        return value

    @property
    def header(self) -> str:
        return self.source or self.name


class RowCheck(_Model):
    kind: Literal["resident_id_matches"]
    id: str
    birth_date: str | None = None
    gender: str | None = None


class Target(_Model):
    library: str
    table: str
    title: str

    _names = field_validator("library", "table")(identifier)


class BatchOrder(_Model):
    """How a feed's batch ids order, so gold never lets an older batch overwrite a newer one. `sequence`
    (the default): by the trailing integer (batch-9 < batch-10, 20261123 < 20261124); `date`: by the date
    in `pattern`, then an optional `-<n>` (20261120 < 20261120-2 < 20261121). `batch_order: date` is short
    for `{by: date}`."""

    by: Literal["sequence", "date"] = "sequence"
    pattern: Literal["yyyyMMdd", "yyyy-MM-dd", "yyyy_MM_dd"] = "yyyyMMdd"

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"by": data} if isinstance(data, str) else data

    @property
    def regex(self) -> str:
        """A batch id under this rule (Python and Java syntax, no quote or backslash: safe in SQL); `date`:
        groups 1-3 are year, month and day, group 4 the `-<n>`."""
        if self.by == "sequence":
            return "^(?:.*[^0-9])?([0-9]{1,18})$"
        fields = (
            self.pattern.replace("yyyy", "([0-9]{4})").replace("MM", "([0-9]{2})").replace("dd", "([0-9]{2})")
        )
        return f"^{fields}(?:-([0-9]{{1,3}}))?$"

    @property
    def rule(self) -> str:
        if self.by == "sequence":
            return "batch_order: sequence (a trailing integer of up to 18 digits, e.g. batch-10)"
        return f"batch_order: date ({self.pattern}, optionally -<n> for a later delivery of the same date)"

    def key(self, batch: str) -> int:
        """The batch id's order key (what gold compares); ValueError naming the rule if it does not parse."""
        match = re.fullmatch(self.regex, batch)
        if match is None:
            raise ValueError(f"batch id {batch!r} does not follow {self.rule}")
        if self.by == "sequence":
            return int(match[1])
        try:
            dt.date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError as exc:
            raise ValueError(f"batch id {batch!r} is not a real date under {self.rule}") from exc
        return int(match[1] + match[2] + match[3]) * SAME_DAY + int(match[4] or 0)


class FeedContract(_Model):
    department: str
    department_name: str
    feed: str
    title: str
    format: Format = "csv"
    encoding: str = "utf-8"
    delimiter: str = Field(",", min_length=1, max_length=1)
    header: bool = True
    undeclared_columns: Literal["reject", "keep"] = Field(
        "reject", description="schema drift: reject the delivery, or keep undeclared columns in bronze"
    )
    batch_order: BatchOrder = BatchOrder()
    primary_key: list[str] = Field(min_length=1)
    columns: list[Column] = Field(min_length=1)
    row_checks: list[RowCheck] = []
    target: Target
    quality: QualityBlock | None = None  # quality gate settings (quality/model.py)
    arrival: Arrival | None = None  # update frequency: when deliveries are due (schemas/arrival.py)

    _names = field_validator("department", "feed")(identifier)

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            return codecs.lookup(value).name
        except LookupError as exc:
            raise ValueError(f"unknown encoding {value!r}") from exc

    @model_validator(mode="after")
    def _references_exist(self) -> FeedContract:
        names = [c.name for c in self.columns]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"duplicate column names: {sorted(dupes)}")
        headers = [c.header for c in self.columns]
        if len(set(headers)) != len(headers):
            raise ValueError("two columns share one source header")
        refs = [("primary_key", k) for k in self.primary_key]
        for rc in self.row_checks:
            refs += [(f"row_checks.{rc.kind}", v) for v in (rc.id, rc.birth_date, rc.gender) if v]
        for where, ref in refs:
            if ref not in names:
                raise ValueError(f"{where} names unknown column {ref!r}")
        for key in self.primary_key:
            if self.column(key).nullable:
                raise ValueError(f"primary key column {key!r} must be nullable: false")
        return self

    @property
    def key(self) -> str:
        """`<department>__<feed>`: the name of this feed's bronze and silver tables."""
        return f"{self.department}__{self.feed}"

    @property
    def dag_id(self) -> str:
        return f"feed__{self.key}"

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @cached_property
    def by_header(self) -> dict[str, Column]:
        return {c.header: c for c in self.columns}


def read_mapping(path: Path, what: str, error: type[ValueError] = ContractError) -> dict[str, Any]:
    """A YAML file whose top level is a mapping; any problem raises `error` naming the file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise error(f"{path}: cannot read {what}: {exc}") from exc
    if not isinstance(data, dict):
        raise error(f"{path}: a {what} must be a mapping at the top level")
    return data


def validation_problems(exc: ValidationError) -> str:
    """Pydantic's errors as `field.path: message; …`."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg'].removeprefix('Value error, ')}"
        for e in exc.errors()
    )


M = TypeVar("M", bound=BaseModel)


def parse(path: Path, model: type[M], data: dict[str, Any]) -> M:
    """`data` read from `path` as `model`; invalid data raises ContractError naming the file and field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ContractError(f"{path}: {validation_problems(exc)}") from exc


def load_contract(path: Path) -> FeedContract:
    contract = parse(path, FeedContract, read_mapping(path, "contract"))
    expected = (contract.department, contract.feed)
    actual = (path.parent.name, path.stem)
    if actual != expected:
        raise ContractError(f"{path}: must live at schemas/{expected[0]}/{expected[1]}.yaml")
    return contract


def feed_contract_paths(root: Path = SCHEMAS_DIR) -> list[Path]:
    """`schemas/<department>/<feed>.yaml`: every folder but the library and governance contracts'."""
    return [p for p in sorted(root.glob("*/*.yaml")) if p.parent.name not in NOT_FEEDS]


def load_contracts(root: Path = SCHEMAS_DIR) -> dict[str, FeedContract]:
    """All feed contracts, by `<department>/<feed>`."""
    contracts = {}
    for path in feed_contract_paths(root):
        c = load_contract(path)
        contracts[f"{c.department}/{c.feed}"] = c
    return contracts


def get_contract(name: str, root: Path = SCHEMAS_DIR) -> FeedContract:
    """A contract by `<department>/<feed>` (or `<department>__<feed>`)."""
    department, _, feed = name.replace("__", "/").partition("/")
    identifier(department)
    identifier(feed)
    path = root / department / f"{feed}.yaml"
    if not path.exists():
        known = ", ".join(load_contracts(root)) or "none"
        raise ContractError(f"no contract {name!r} (expected {path}); known feeds: {known}")
    return load_contract(path)
