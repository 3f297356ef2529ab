"""Governance table contracts: schemas/governance/<table>.yaml, one per table of the `governance` schema
(batch log, quality scorecards, verification conflicts, lineage, catalog, share decisions, access log).

Each file is the only definition of its table: name, Chinese title (the table comment), columns in order
with a Chinese label (the column comment), type and nullability, and partition columns. Types are names
here (no Spark at this floor); `jobs.governance_tables` builds the Delta tables from these contracts.
`chained: true` makes a table a hash chain (`catalog.chain`): its last columns are CHAIN_COLUMNS, filled
by `catalog.governance.insert`, and its first column names a row in `govlake audit verify`.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.contracts import (
    GOVERNANCE_DIR,
    ContractError,
    identifier,
    parse,
    read_mapping,
)

GOVERNANCE_ROOT = Path(__file__).resolve().parent / GOVERNANCE_DIR

# The types the governance tables use (Spark: string, int, bigint, double, boolean, date, timestamp,
# array<string>); `jobs.governance_tables.SPARK_TYPES` maps each to its Spark type.
GovernanceType = Literal["string", "int", "long", "double", "boolean", "date", "timestamp", "array<string>"]

# The columns a chained table ends with: position 1..n, the previous row's hash, this row's hash.
CHAIN_COLUMNS = (("seq", "long"), ("prev_hash", "string"), ("row_hash", "string"))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


class GovernanceColumn(_Model):
    name: str
    label: str = Field(min_length=1, description="Chinese label, becomes the column comment")
    type: GovernanceType = "string"
    nullable: bool = True

    _name = field_validator("name")(identifier)
    _label = field_validator("label")(_not_blank)


class GovernanceTable(_Model):
    table: str
    title: str = Field(min_length=1, description="Chinese title, becomes the table comment")
    columns: list[GovernanceColumn] = Field(min_length=1)
    partition_by: list[str] = Field([], description="partition columns (not timestamps)")
    chained: bool = Field(False, description="hash-chained, append-only (ends with CHAIN_COLUMNS)")

    _table = field_validator("table")(identifier)
    _title = field_validator("title")(_not_blank)

    @model_validator(mode="after")
    def _columns_are_consistent(self) -> GovernanceTable:
        names = [c.name for c in self.columns]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate column names: {dupes}")
        types = {c.name: c.type for c in self.columns}
        for name in self.partition_by:
            if name not in types:
                raise ValueError(f"partition_by names unknown column {name!r}")
            if types[name] == "timestamp":
                raise ValueError(
                    f"partition_by: {name!r} is a timestamp (partition values depend on time zone)"
                )
        tail = [(c.name, c.type, c.nullable) for c in self.columns[-len(CHAIN_COLUMNS) :]]
        if self.chained and tail != [(n, t, False) for n, t in CHAIN_COLUMNS]:
            wanted = ", ".join(f"{n} ({t}, nullable: false)" for n, t in CHAIN_COLUMNS)
            raise ValueError(f"chained: the last columns must be {wanted}")
        return self

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def value_names(self) -> list[str]:
        """The columns a writer supplies: all but the chain columns of a chained table."""
        return self.names[: -len(CHAIN_COLUMNS)] if self.chained else self.names


def governance_contract_paths(root: Path = GOVERNANCE_ROOT) -> list[Path]:
    return sorted(root.glob("*.yaml"))


def load_governance_contract(path: Path) -> GovernanceTable:
    """One contract file; any problem raises ContractError naming the file and the field."""
    contract = parse(path, GovernanceTable, read_mapping(path, "governance table contract"))
    if path.stem != contract.table:
        raise ContractError(f"{path}: table: {contract.table!r} must live at {contract.table}.yaml")
    return contract


def governance_contracts(root: Path = GOVERNANCE_ROOT) -> dict[str, GovernanceTable]:
    """Every governance table's contract, by table name."""
    return {c.table: c for c in map(load_governance_contract, governance_contract_paths(root))}


@cache
def governance_contract(name: str, root: Path = GOVERNANCE_ROOT) -> GovernanceTable:
    """The contract of governance.<name> (read once per process: the files ship with the package)."""
    try:
        identifier(name)
    except ValueError as exc:
        raise ContractError(f"governance table: {exc}") from exc
    path = root / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(p.stem for p in governance_contract_paths(root)) or "none"
        raise ContractError(f"no governance table {name!r} (expected {path}); known: {known}")
    return load_governance_contract(path)
